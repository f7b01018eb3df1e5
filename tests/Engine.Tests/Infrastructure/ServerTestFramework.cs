using System.Diagnostics.CodeAnalysis;
using Xunit.Sdk;

[assembly: TestFramework("Engine.Tests.Infrastructure.ServerTestFramework", "Engine.Tests")]

namespace Engine.Tests.Infrastructure;

/// <summary>
/// xUnit's framework, plus: the shared server is stopped and its folder deleted when the assembly's run ends
/// (before the test host exits; a ProcessExit handler remains as a fallback).
/// </summary>
public sealed class ServerTestFramework : XunitTestFramework
{
    [SuppressMessage("Reliability", "CA2000:Dispose objects before losing scope", Justification = "Handed to xUnit's DisposalTracker, which disposes it when the run ends.")]
    public ServerTestFramework(IMessageSink messageSink)
        : base(messageSink) => DisposalTracker.Add(new ServerStopper());

    private sealed class ServerStopper : IDisposable
    {
        public void Dispose() => SharedServer.StopIfStarted();
    }
}
