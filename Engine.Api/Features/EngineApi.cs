using Engine.Api.Infrastructure;
using Engine.Api.Features.Changes;
using Engine.Api.Features.Engines;
using Engine.Api.Features.Objects;
using Engine.Api.Features.Sql;
using Engine.Api.Features.Tables;
using Engine.Api.Features.Tracking;
using Engine.Api.Features.Transfers;
using Engine.Api.Features.Versions;

namespace Engine.Api.Features;

/// <summary>All routes under <c>/api</c>; each feature maps its own.</summary>
public static class EngineApi
{
    public static IEndpointRouteBuilder MapEngineApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithProblemResponses();
        ListEngines.Map(api);
        GetCapabilities.Map(api);

        var engine = api.MapGroup("/engines/{engine}");
        InitializeEngine.Map(engine);
        ListTables.Map(engine);
        GetTableColumns.Map(engine);
        GetTrackedTables.Map(engine);
        TrackTables.Map(engine);
        UntrackTables.Map(engine);
        GetSchemaChanges.Map(engine);
        GetTableChanges.Map(engine);
        DiscardChanges.Map(engine);
        GetPendingCounts.Map(engine);
        DumpTable.Map(engine);
        CommitTable.Map(engine);
        ListObjects.Map(engine);
        GetObject.Map(engine);
        GetObjectSchema.Map(engine);
        GetObjectSize.Map(engine);
        DumpObject.Map(engine);
        DeleteObjects.Map(engine);
        ApplyFragments.Map(engine);
        UploadObjects.Map(engine);
        DownloadObjects.Map(engine);
        RunSql.Map(engine);
        Repositories.Map(engine);
        Images.Map(engine);
        Tags.Map(engine);
        Diffs.Map(engine);
        VersionTransferRoutes.Map(engine);
        TransferStatusRoutes.Map(api);

        // Anything else under /api is a problem, not an empty response: 415 for a route's wrong body type, else 404.
        api.MapFallback(ProblemResponses.NoRoute).ExcludeFromDescription();
        return app;
    }
}
