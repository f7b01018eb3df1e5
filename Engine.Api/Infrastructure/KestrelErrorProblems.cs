using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Engine.Api.Infrastructure;

/// <summary>
/// Kestrel rejects some requests before any middleware runs (a NUL byte, <c>%00</c>, in the path: 400; a request line
/// over its limit: 414; headers over theirs: 431) and answers with an empty body that no middleware can change. This
/// connection middleware sees what Kestrel writes and gives exactly those answers a problem+json body, so every error
/// from the API is <c>application/problem+json</c>.
/// </summary>
public static class KestrelErrorProblems
{
    // Kestrel's own rejections, and only they, look like this: status line, then these two headers, then Date/Server,
    // no body, and the connection closes. Application responses carry a body (status code pages) or other headers.
    private static readonly byte[] Marker = "\r\nContent-Length: 0\r\nConnection: close\r\n"u8.ToArray();
    private static readonly byte[] EndOfHeaders = "\r\n\r\n"u8.ToArray();

    private static readonly Dictionary<string, (string Type, string Title, string Detail)> Problems = new(StringComparer.Ordinal)
    {
        ["400"] = ("https://tools.ietf.org/html/rfc9110#section-15.5.1", "Bad request",
            "The server could not parse the request line or headers (for example a NUL byte, %00, in the path)."),
        ["414"] = ("https://tools.ietf.org/html/rfc9110#section-15.5.15", "URI too long",
            "The request line is longer than the server accepts (8 KB); send long inputs in a body."),
        ["431"] = ("https://tools.ietf.org/html/rfc6585#section-5", "Request headers too large",
            "The request's headers are larger than the server accepts."),
    };

    public static IConnectionBuilder UseKestrelErrorProblems(this ListenOptions listen) =>
        listen.Use(next => async connection =>
        {
            var transport = connection.Transport;
            var output = new Pipe();
            connection.Transport = new DuplexPipe(transport.Input, output.Writer);
            var pump = PumpAsync(output.Reader, transport.Output);
            try
            {
                await next(connection);
            }
            finally
            {
                await output.Writer.CompleteAsync();
                await pump;
                connection.Transport = transport;
            }
        });

    private static async Task PumpAsync(PipeReader reader, PipeWriter writer)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                var flush = TryRewrite(buffer) is { } problem
                    ? await writer.WriteAsync(problem)
                    : await CopyAsync(buffer, writer);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }

            await reader.CompleteAsync();
        }
        catch (Exception ex)
        {
            // The client went away: Kestrel's next write fails as it would without this middleware.
            await reader.CompleteAsync(ex);
        }
    }

    private static async ValueTask<FlushResult> CopyAsync(ReadOnlySequence<byte> buffer, PipeWriter writer)
    {
        foreach (var segment in buffer)
        {
            writer.Write(segment.Span);
        }

        return await writer.FlushAsync();
    }

    /// <summary>A problem response for a whole buffer that is exactly one of Kestrel's empty rejections; else null.</summary>
    private static byte[]? TryRewrite(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length is < 20 or > 512)
        {
            return null;
        }

        var bytes = buffer.ToArray().AsSpan();
        var lineEnd = bytes.IndexOf("\r\n"u8);
        if (!bytes.StartsWith("HTTP/1.1 "u8) || lineEnd < 12 || !bytes[lineEnd..].StartsWith(Marker) || !bytes.EndsWith(EndOfHeaders)
            || bytes.IndexOf(EndOfHeaders) != bytes.Length - EndOfHeaders.Length)
        {
            return null;
        }

        var status = Encoding.ASCII.GetString(bytes.Slice(9, 3));
        if (!Problems.TryGetValue(status, out var problem))
        {
            return null;
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new { type = problem.Type, title = problem.Title, status = int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), detail = problem.Detail });
        var otherHeaders = bytes[(lineEnd + Marker.Length)..^EndOfHeaders.Length]; // Date, Server
        var response = new StringBuilder()
            .Append(Encoding.ASCII.GetString(bytes[..lineEnd])).Append("\r\n")
            .Append("Content-Type: application/problem+json\r\n")
            .Append("Content-Length: ").Append(body.Length).Append("\r\n")
            .Append("Connection: close\r\n")
            .Append(Encoding.ASCII.GetString(otherHeaders)).Append("\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(response.ToString()), .. body];
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
