namespace Dashboard.Services;

/// <summary>
/// A failed call to Engine.Api: the ProblemDetails it answered with (status, title, detail), or — when the API could
/// not be reached at all — status 0 and a description of the network failure.
/// </summary>
public sealed class EngineApiException(int status, string title, string detail, Exception? inner = null)
    : Exception(string.IsNullOrWhiteSpace(detail) ? title : detail, inner)
{
    /// <summary>HTTP status, or 0 when no response came back.</summary>
    public int Status { get; } = status;

    public string Title { get; } = title;

    /// <summary>The ProblemDetails <c>detail</c>: what a person should read.</summary>
    public string Detail { get; } = detail;

    /// <summary>True when the API did not answer (down, unreachable, timed out).</summary>
    public bool IsUnreachable => Status == 0;

    public override string ToString() => Status == 0 ? $"{Title}: {Detail}" : $"{Title} ({Status}): {Detail}";
}
