using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;

namespace Engine.Api.Behaviors;

/// <summary>
/// One transaction on each engine the request's session opened: when the handler succeeds they are committed one
/// engine after another (not atomically across engines: see <see cref="EngineSessions.CommitAsync"/>), when it throws
/// all are rolled back. Handlers that manage
/// their own transactions (transfers: one per object on the receiving engine) open no session, so there is nothing
/// here to commit. A request that lost a race (serialization failure, deadlock) changed nothing, so it is run again a
/// few times after a short randomised back-off before the 409 reaches the client.
/// </summary>
public sealed class TransactionBehavior<TRequest, TResponse>(EngineSessions sessions, ILogger<TransactionBehavior<TRequest, TResponse>> logger)
    : IPipelineBehavior<TRequest, TResponse>
{
    public const int MaxAttempts = 4;

    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var response = await next();
                await sessions.CommitAsync(cancellationToken);
                return response;
            }
            catch (Exception ex) when (ConcurrentChangeException.IsRetryable(ex) && attempt < MaxAttempts)
            {
                await sessions.RollbackAsync();
                logger.LogInformation("{Request} lost a race (attempt {Attempt}), retrying: {Reason}", typeof(TRequest).Name, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(20, 100) * attempt), cancellationToken);
            }
            catch
            {
                await sessions.RollbackAsync();
                throw;
            }
        }
    }
}
