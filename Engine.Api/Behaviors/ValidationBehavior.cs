using Engine.Api.Infrastructure;
using MediatR;

namespace Engine.Api.Behaviors;

/// <summary>Rejects bad input before a handler runs: unknown engines (404) and requests that fail their own checks (400).</summary>
public sealed class ValidationBehavior<TRequest, TResponse>(EngineRegistry registry) : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (request is IEngineRequest engineRequest)
        {
            registry.Get(engineRequest.Engine);
        }

        if (request is IValidatable validatable)
        {
            validatable.Validate();
        }

        return next();
    }
}
