using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Tables;

/// <summary><c>GET …/schemas/{schema}/tables/{table}/columns</c>: the table's columns in table order, key columns marked.</summary>
public sealed record GetTableColumnsQuery(string Engine, string Schema, string Table) : IRequest<IReadOnlyList<ObjectColumn>>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Table(Schema, Table);
}

public sealed class GetTableColumnsHandler(EngineSessions sessions) : IRequestHandler<GetTableColumnsQuery, IReadOnlyList<ObjectColumn>>
{
    public async Task<IReadOnlyList<ObjectColumn>> Handle(GetTableColumnsQuery request, CancellationToken cancellationToken)
    {
        var engine = sessions.Open(request.Engine);
        var columns = await TableCatalog.RequireColumnsAsync(engine, request.Schema, request.Table, cancellationToken);
        var key = await engine.GetPrimaryKeysAsync(request.Schema, request.Table, cancellationToken);
        return columns.Select(c => new ObjectColumn(c.Ordinal, c.Name, c.Type, key.Any(k => k.Column == c.Name))).ToList();
    }
}

public static class GetTableColumns
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/schemas/{schema}/tables/{table}/columns", (string engine, string schema, string table, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new GetTableColumnsQuery(engine, schema, table), ct))
              .WithSummary("The table's columns in table order with their types; primary-key columns marked.");
}
