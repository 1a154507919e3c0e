using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sirocco.LocalCluster.Api;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// One exec or attach session's connection to its client, whichever upgrade the client asked for: WebSocket (kubectl
/// 1.30 and later, the Python and .NET clients) or SPDY/3.1 (kubectl before 1.30, and newer ones falling back).
/// Channels are numbered as in the channel protocols: 1 stdout, 2 stderr.
/// </summary>
internal interface IStreamTransport : IDisposable
{
    /// <summary>The stream protocol agreed on (<c>v4.channel.k8s.io</c> …).</summary>
    string? Protocol { get; }

    /// <summary>Sends output on stdout (1) or stderr (2); a client that went away is not an error.</summary>
    Task SendAsync(byte channel, ReadOnlyMemory<byte> data);

    /// <summary>Sends how the session ended: success, a non-zero exit code, or another failure.</summary>
    Task SendStatusAsync(int? exitCode, IReadOnlyList<string> command, string? failure = null);

    /// <summary>Reads what the client sends (stdin, the end of stdin, terminal sizes) until it goes away.</summary>
    Task ReceiveAsync(Func<ReadOnlyMemory<byte>, Task> stdin, Action closeStdin, Action<int, int> resize, CancellationToken token);

    /// <summary>Ends the output side; the client then closes the connection.</summary>
    Task CloseOutputAsync();
}

/// <summary>Picks the transport a streaming request asks for.</summary>
internal static class StreamTransport
{
    /// <summary>True when the request is an upgrade the local cluster serves.</summary>
    public static bool IsUpgrade(HttpContext ctx) => ctx.WebSockets.IsWebSocketRequest || SpdySession.IsSpdyUpgrade(ctx);

    /// <summary>Accepts the upgrade; a SPDY session also waits for the client's streams (at most 30 s, as the kubelet).</summary>
    public static async Task<IStreamTransport> AcceptAsync(HttpContext ctx, StreamOptions options)
    {
        if (ctx.WebSockets.IsWebSocketRequest)
        {
            return await ChannelSocket.AcceptAsync(ctx).ConfigureAwait(false);
        }

        if (ctx.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true })
        {
            throw ApiException.BadRequest("Upgrade request required");
        }

        return await SpdySession.AcceptAsync(ctx, options).ConfigureAwait(false);
    }
}
