using Engine.Api.Infrastructure;
using MediatR;

namespace Engine.Api.Behaviors;

/// <summary>One transaction per engine per request: committed when the handler succeeds, rolled back when it throws.</summary>
public sealed class TransactionBehavior<TRequest, TResponse>(EngineSessions sessions) : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        try
        {
            var response = await next();
            await sessions.CommitAsync(cancellationToken);
            return response;
        }
        catch
        {
            await sessions.RollbackAsync();
            throw;
        }
    }
}
