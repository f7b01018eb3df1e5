namespace SplitgraphAspire.Contracts;

/// <summary>A column of an object: position, name, type, whether it is part of the change key.</summary>
public sealed record ObjectColumn(int Ordinal, string Name, string Type, bool IsPrimaryKey);

/// <summary>An object as the catalogue lists it.</summary>
public sealed record ObjectInfo(string ObjectId, string Format, long RowCount, long SizeBytes, DateTimeOffset CreatedAt);

/// <summary><c>GET …/objects/{id}/size</c>: bytes the object takes on disk.</summary>
public sealed record ObjectSize(string ObjectId, long SizeBytes);

/// <summary>One object with its schema.</summary>
public sealed record ObjectDetail(string ObjectId, string Format, long RowCount, long SizeBytes, DateTimeOffset CreatedAt, IReadOnlyList<ObjectColumn> Schema);

/// <summary>Body naming objects.</summary>
public sealed record ObjectIdsRequest(IReadOnlyList<string> ObjectIds);

/// <summary>Result of a delete: what was removed and what was not there.</summary>
public sealed record DeleteObjectsResult(IReadOnlyList<string> Deleted, IReadOnlyList<string> Missing);

/// <summary>A structured row filter: <c>column operator value</c>; never raw SQL.</summary>
/// <param name="Operator">One of <c>=</c>, <c>&lt;&gt;</c>, <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>, <c>is null</c>, <c>is not null</c>.</param>
public sealed record RowFilter(string Column, string Operator, string? Value);

/// <summary>Body of <c>POST …/objects/apply</c>.</summary>
/// <param name="CreateTable">Create a missing target table (and schema) from the first object's columns and primary key, without triggers.</param>
public sealed record ApplyRequest(IReadOnlyList<string> ObjectIds, string TargetSchema, string TargetTable, IReadOnlyList<RowFilter>? Filter, bool CreateTable = false);

/// <summary>What applying one fragment did, in the commit's terms.</summary>
/// <param name="Upserted">Upsert rows written (new keys and replaced rows alike; after the filter).</param>
/// <param name="Deleted">Rows the fragment's delete entries removed (a delete of a key the table lacks removes nothing).</param>
public sealed record FragmentApplied(string ObjectId, long Upserted, long Deleted);

/// <summary>Result of applying fragments: totals and each fragment in the order applied.</summary>
/// <param name="CreatedTable">True when the target table was created from the object's schema first.</param>
public sealed record ApplyResult(long Upserted, long Deleted, IReadOnlyList<FragmentApplied> Fragments, bool CreatedTable = false);

/// <summary>
/// Body of upload/download: objects and the other engine. Every object is checked on arrival by its row count;
/// <paramref name="Verify"/> also re-hashes the arrived rows against the object's content ID (one more full pass over
/// each object on the receiving engine, about as long as the transfer's own COPY).
/// </summary>
public sealed record TransferRequest(IReadOnlyList<string> ObjectIds, string Remote, bool Verify = false);

/// <summary>Result of a transfer.</summary>
public sealed record TransferResult(IReadOnlyList<string> Transferred, IReadOnlyList<string> Skipped, IReadOnlyList<string> Missing);

/// <summary>Body of the development SQL console.</summary>
public sealed record SqlRequest(string Statement);

/// <summary>Result of the development SQL console.</summary>
public sealed record SqlResult(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<object?>> Rows, int RecordsAffected);
