using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>What a client asks of an exec or attach session (PodExecOptions, PodAttachOptions).</summary>
internal sealed record StreamOptions(bool Stdin, bool Stdout, bool Stderr, bool Tty, string? Container, IReadOnlyList<string> Command)
{
    /// <summary>
    /// Decodes the options as the kubelet does: at least one stream; a terminal merges stderr into stdout, so
    /// <c>stderr</c> is dropped when <c>tty</c> is set.
    /// </summary>
    public static StreamOptions Decode(IQueryCollection q, bool exec)
    {
        var command = q["command"].Where(c => c is not null).Select(c => c!).ToList();
        if (exec && command.Count == 0)
        {
            throw ApiException.BadRequest("you must specify at least 1 command");
        }

        var options = new StreamOptions(QueryParams.Bool(q, "stdin"), QueryParams.Bool(q, "stdout"), QueryParams.Bool(q, "stderr"), QueryParams.Bool(q, "tty"), QueryParams.Text(q, "container"), command);
        if (!options.Stdin && !options.Stdout && !options.Stderr)
        {
            throw ApiException.BadRequest("you must specify at least 1 of stdin, stdout, stderr");
        }

        return options.Tty ? options with { Stderr = false } : options;
    }
}

/// <summary>
/// The WebSocket side of exec and attach, in the channel protocols of the real kubelet: each message starts with its
/// channel (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; 255 close in v5). Error-channel content is a
/// <c>Status</c> object in v4 and v5, plain text before.
/// </summary>
internal sealed class ChannelSocket : IStreamTransport
{
    /// <summary>The protocols offered, most capable first.</summary>
    public static readonly string[] Protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];

    private readonly WebSocket _socket;
    private readonly SemaphoreSlim _send = new(1, 1);

    private ChannelSocket(WebSocket socket, string? protocol)
    {
        _socket = socket;
        Protocol = protocol;
    }

    public string? Protocol { get; }

    /// <summary>Accepts the upgrade with the best protocol both sides speak.</summary>
    public static async Task<IStreamTransport> AcceptAsync(HttpContext ctx)
    {
        var protocol = Protocols.FirstOrDefault(p => ctx.WebSockets.WebSocketRequestedProtocols.Contains(p));
        var socket = await ctx.WebSockets.AcceptWebSocketAsync(protocol).ConfigureAwait(false);
        return new ChannelSocket(socket, protocol);
    }

    /// <summary>Sends data on a channel; a client that went away is not an error.</summary>
    public async Task SendAsync(byte channel, ReadOnlyMemory<byte> data)
    {
        var frame = new byte[data.Length + 1];
        frame[0] = channel;
        data.CopyTo(frame.AsMemory(1));
        await _send.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.SendAsync(frame, WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (WebSocketException)
        {
            // The client went away.
        }
        finally
        {
            _send.Release();
        }
    }

    /// <summary>Sends how the session ended on the error channel: success, a non-zero exit code, or another failure.</summary>
    public Task SendStatusAsync(int? exitCode, IReadOnlyList<string> command, string? failure = null)
    {
        return SendAsync(3, StatusPayload(Protocol, exitCode, command, failure));
    }

    /// <summary>The error channel's content: a Status object in v4 and v5, the failure's text (nothing on success) before.</summary>
    internal static byte[] StatusPayload(string? protocol, int? exitCode, IReadOnlyList<string> command, string? failure)
    {
        var status = Status(exitCode, command, failure);
        return protocol is "v4.channel.k8s.io" or "v5.channel.k8s.io"
            ? JsonSerializer.SerializeToUtf8Bytes(status, JsonText.Options)
            : (string)status["status"]! == "Success" ? [] : Encoding.UTF8.GetBytes((string)status["message"]!);
    }

    /// <summary>The <c>Status</c> a session ends with, as the kubelet words it.</summary>
    internal static JsonObject Status(int? exitCode, IReadOnlyList<string> command, string? failure)
    {
        if (failure is not null)
        {
            return new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Failure", ["message"] = failure, ["reason"] = "InternalError" };
        }

        if (exitCode is null or 0)
        {
            return new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" };
        }

        var code = exitCode.Value.ToString(CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = $"command terminated with non-zero exit code: error executing command [{string.Join(" ", command)}], exit code {code}",
            ["reason"] = "NonZeroExitCode",
            ["details"] = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = code }) },
        };
    }

    /// <summary>
    /// Reads the client's messages until it closes: stdin data (binary or text frames; the Python client sends text),
    /// terminal resizes (<c>{"Width":…,"Height":…}</c>) and, in v5, the close of stdin.
    /// </summary>
    public async Task ReceiveAsync(Func<ReadOnlyMemory<byte>, Task> stdin, Action closeStdin, Action<int, int> resize, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (_socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer, token).ConfigureAwait(false);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                var data = message.ToArray();
                if (data.Length == 0)
                {
                    continue;
                }

                switch (data[0])
                {
                    case 0 when data.Length > 1:
                        await stdin(data.AsMemory(1)).ConfigureAwait(false);
                        break;
                    case 4 when data.Length > 1:
                        try
                        {
                            var size = JsonNode.Parse(data.AsSpan(1));
                            resize((int?)size?["Width"] ?? 0, (int?)size?["Height"] ?? 0);
                        }
                        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
                        {
                            // A malformed resize is ignored, as the kubelet logs and ignores it.
                        }

                        break;
                    case 255 when data.Length > 1 && data[1] == 0 && Protocol == "v5.channel.k8s.io":
                        closeStdin();
                        break;
                }
            }
        }
        catch (WebSocketException)
        {
            // The client went away.
        }
        finally
        {
            closeStdin();
        }
    }

    /// <summary>Says the session is over and lets the client close its side; cancelling a receive would abort the socket.</summary>
    public async Task CloseOutputAsync()
    {
        await _send.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (WebSocketException)
        {
            // Already closed by the client.
        }
        finally
        {
            _send.Release();
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _send.Dispose();
    }
}
