namespace Engine.Api.Infrastructure;

/// <summary>A request about one engine: the validation behaviour checks the engine exists (404 otherwise).</summary>
public interface IEngineRequest
{
    string Engine { get; }
}

/// <summary>A request that checks its own input; <see cref="Validate"/> throws a 400 naming the problem.</summary>
public interface IValidatable
{
    void Validate();
}
