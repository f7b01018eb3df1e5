namespace Postgres.Testing;

/// <summary>
/// Why statement text that tests and the bench build at run time is safe, for their CA2100 suppressions
/// (<c>[SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.…)]</c> on the one method).
/// Values still travel as parameters wherever a statement takes them.
/// </summary>
public static class ReviewedSql
{
    public const string Category = "Security";

    public const string Rule = "CA2100:Review SQL queries for security vulnerabilities";

    /// <summary>The method writes the statement itself and splices in only names it generated, and numbers.</summary>
    public const string GeneratedNames =
        "The statement is written here; only names the test generated (GUID-suffixed databases, schemas, tables, roles) and numbers are spliced in, never outside input.";

    /// <summary>A helper that runs the statement text its caller wrote.</summary>
    public const string Helper =
        "Test helper: runs statement text that its calling test wrote (fixed SQL with names the test generated); no outside input reaches it.";
}
