using System.Reflection;
using MediatR;

namespace Engine.Api.Infrastructure;

/// <summary>
/// MediatR 5.1.0 wired by hand (its DI package does not restore here): the mediator, every handler found in the
/// assembly, and pipeline behaviours as open generics (outermost first).
/// </summary>
public static class MediatRRegistration
{
    public static IServiceCollection AddMediatRHandlers(this IServiceCollection services, Assembly assembly, params Type[] openBehaviors)
    {
        services.AddScoped<ServiceFactory>(sp => sp.GetService!);
        services.AddScoped<IMediator, Mediator>();

        var handlerInterfaces = new[] { typeof(IRequestHandler<,>), typeof(INotificationHandler<>) };
        foreach (var type in assembly.GetTypes().Where(t => t is { IsAbstract: false, IsInterface: false, IsGenericTypeDefinition: false }))
        {
            foreach (var contract in type.GetInterfaces().Where(i => i.IsGenericType && handlerInterfaces.Contains(i.GetGenericTypeDefinition())))
            {
                services.AddScoped(contract, type);
            }
        }

        foreach (var behavior in openBehaviors)
        {
            services.AddScoped(typeof(IPipelineBehavior<,>), behavior);
        }

        return services;
    }
}
