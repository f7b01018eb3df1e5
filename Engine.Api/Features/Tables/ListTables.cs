using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Tables;

/// <summary><c>GET …/tables?schema=</c>: user tables with primary key, tracked flag and row estimate.</summary>
public sealed record ListTablesQuery(string Engine, string? Schema) : IRequest<IReadOnlyList<TableInfo>>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        if (Schema is not null)
        {
            Check.Schema(Schema);
        }
    }
}

public sealed class ListTablesHandler(EngineSessions sessions) : IRequestHandler<ListTablesQuery, IReadOnlyList<TableInfo>>
{
    public async Task<IReadOnlyList<TableInfo>> Handle(ListTablesQuery request, CancellationToken cancellationToken)
    {
        var engine = sessions.Open(request.Engine);
        if (request.Schema is not null)
        {
            await SchemaCheck.RequireAsync(engine, request.Schema, cancellationToken);
        }

        return await TableCatalog.ListTablesAsync(engine, request.Schema, cancellationToken);
    }
}

public static class ListTables
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/tables", (string engine, string? schema, IMediator mediator, CancellationToken ct) => mediator.Send(new ListTablesQuery(engine, schema), ct))
              .WithSummary("User tables with primary key, tracked flag and row estimate.");
}
