using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sirocco.LocalCluster.Api;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// An exec or attach session over SPDY/3.1, the upgrade kubectl used before 1.30 (and newer kubectl when WebSockets
/// are refused or switched off). The client opens one stream per channel, named by its <c>streamtype</c> header
/// (error, stdin, stdout, stderr, resize); the server answers each, then output goes as data frames on the client's
/// streams, each closed with FIN, and the session's status last on the error stream. The local cluster reads and
/// answers only the frames this needs: SYN_STREAM, data, RST_STREAM, PING and GOAWAY; flow control is not enforced by
/// the clients that speak it, and is not here.
/// </summary>
internal sealed class SpdySession : IStreamTransport
{
    private static readonly string[] Protocols = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];
    private const int MaxFrame = 16 * 1024 * 1024;

    private readonly Stream _connection;
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly SpdyHeaders _headers = new();
    private readonly Dictionary<string, uint> _streams = new(StringComparer.Ordinal);
    private readonly Channel<(uint Stream, byte[] Data, bool Fin)> _incoming = Channel.CreateUnbounded<(uint, byte[], bool)>();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _expected;
    private bool _outputClosed;

    private SpdySession(Stream connection, string? protocol, HashSet<string> expected)
    {
        _connection = connection;
        Protocol = protocol;
        _expected = expected;
    }

    public string? Protocol { get; }

    /// <summary>True for an HTTP/1.1 request to upgrade to SPDY/3.1.</summary>
    public static bool IsSpdyUpgrade(HttpContext ctx) =>
        ctx.Request.Headers.Upgrade.Any(v => v is not null && v.Contains("SPDY/3.1", StringComparison.OrdinalIgnoreCase));

    public static async Task<IStreamTransport> AcceptAsync(HttpContext ctx, StreamOptions options)
    {
        var offered = ctx.Request.Headers["X-Stream-Protocol-Version"]
            .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();
        var protocol = Protocols.FirstOrDefault(offered.Contains);
        if (protocol is null && offered.Count > 0)
        {
            throw ApiException.BadRequest($"unable to upgrade: unable to negotiate protocol: client supports [{string.Join(" ", offered)}], server supports [{string.Join(" ", Protocols)}]");
        }

        HashSet<string> expected = ["error"];
        if (options.Stdin)
        {
            expected.Add("stdin");
        }

        if (options.Stdout)
        {
            expected.Add("stdout");
        }

        if (options.Stderr)
        {
            expected.Add("stderr");
        }

        if (options.Tty && protocol is "v4.channel.k8s.io" or "v3.channel.k8s.io")
        {
            expected.Add("resize");
        }

        if (protocol is not null)
        {
            ctx.Response.Headers["X-Stream-Protocol-Version"] = protocol;
        }

        ctx.Response.Headers.Upgrade = "SPDY/3.1";
        var connection = await ctx.Features.Get<IHttpUpgradeFeature>()!.UpgradeAsync().ConfigureAwait(false);
        var session = new SpdySession(connection, protocol, expected);
        _ = session.ReadFramesAsync();

        // The kubelet waits 30 s for the client's streams.
        try
        {
            await session._ready.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            session.Dispose();
            throw new IOException("the SPDY client did not open its streams: " + e.Message, e);
        }

        return session;
    }

    private async Task ReadFramesAsync()
    {
        var header = new byte[8];
        try
        {
            while (await ReadExactlyAsync(header).ConfigureAwait(false))
            {
                var length = (header[5] << 16) | (header[6] << 8) | header[7];
                if (length > MaxFrame)
                {
                    break;
                }

                var payload = new byte[length];
                if (!await ReadExactlyAsync(payload).ConfigureAwait(false))
                {
                    break;
                }

                var fin = (header[4] & 1) != 0;
                if ((header[0] & 0x80) == 0)
                {
                    var id = BinaryPrimitives.ReadUInt32BigEndian(header) & 0x7fffffff;
                    _incoming.Writer.TryWrite((id, payload, fin));
                    continue;
                }

                var type = (header[2] << 8) | header[3];
                if (type == 1 && payload.Length >= 10)
                {
                    await OpenStreamAsync(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fffffff, _headers.Read(payload.AsSpan(10))).ConfigureAwait(false);
                }
                else if (type == 3 && payload.Length >= 4)
                {
                    // RST_STREAM: the client abandoned a stream; for stdin that is its end.
                    _incoming.Writer.TryWrite((BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fffffff, [], true));
                }
                else if (type == 6)
                {
                    await WriteFrameAsync([.. header, .. payload]).ConfigureAwait(false);
                }
                else if (type == 7)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidDataException or OperationCanceledException)
        {
            _ready.TrySetException(new IOException(e.Message, e));
        }
        finally
        {
            _incoming.Writer.TryComplete();
            _ready.TrySetException(new IOException("the SPDY client closed the connection"));
        }
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer)
    {
        try
        {
            await _connection.ReadExactlyAsync(buffer).ConfigureAwait(false);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    private async Task OpenStreamAsync(uint id, Dictionary<string, string> headers)
    {
        var kind = headers.GetValueOrDefault("streamtype") ?? "";
        lock (_streams)
        {
            _streams[kind] = id;
        }

        // SYN_REPLY with no headers.
        var block = _headers.Write([]);
        var frame = new byte[12 + block.Length];
        frame[0] = 0x80;
        frame[1] = 3;
        frame[3] = 2;
        WriteLength(frame, 4 + block.Length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), id);
        block.CopyTo(frame, 12);
        await WriteFrameAsync(frame).ConfigureAwait(false);
        lock (_streams)
        {
            if (_expected.All(_streams.ContainsKey))
            {
                _ready.TrySetResult();
            }
        }
    }

    private static void WriteLength(byte[] frame, int length)
    {
        frame[5] = (byte)(length >> 16);
        frame[6] = (byte)(length >> 8);
        frame[7] = (byte)length;
    }

    private uint? StreamOf(string kind)
    {
        lock (_streams)
        {
            return _streams.TryGetValue(kind, out var id) ? id : null;
        }
    }

    private async Task WriteFrameAsync(byte[] frame)
    {
        await _write.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _connection.WriteAsync(frame).ConfigureAwait(false);
            await _connection.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The client went away.
        }
        finally
        {
            _write.Release();
        }
    }

    private Task SendDataAsync(uint stream, ReadOnlySpan<byte> data, bool fin)
    {
        var frame = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, stream);
        frame[4] = fin ? (byte)1 : (byte)0;
        WriteLength(frame, data.Length);
        data.CopyTo(frame.AsSpan(8));
        return WriteFrameAsync(frame);
    }

    public Task SendAsync(byte channel, ReadOnlyMemory<byte> data) =>
        StreamOf(channel == 2 ? "stderr" : "stdout") is { } id ? SendDataAsync(id, data.Span, fin: false) : Task.CompletedTask;

    public async Task SendStatusAsync(int? exitCode, IReadOnlyList<string> command, string? failure = null)
    {
        await CloseOutputAsync().ConfigureAwait(false);
        if (StreamOf("error") is not { } error)
        {
            return;
        }

        await SendDataAsync(error, ChannelSocket.StatusPayload(Protocol, exitCode, command, failure), fin: true).ConfigureAwait(false);
    }

    public async Task ReceiveAsync(Func<ReadOnlyMemory<byte>, Task> stdin, Action closeStdin, Action<int, int> resize, CancellationToken token)
    {
        var sizes = new List<byte>();
        try
        {
            await foreach (var (stream, data, fin) in _incoming.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                if (stream == StreamOf("stdin"))
                {
                    if (data.Length > 0)
                    {
                        await stdin(data).ConfigureAwait(false);
                    }

                    if (fin)
                    {
                        closeStdin();
                    }
                }
                else if (stream == StreamOf("resize"))
                {
                    // One JSON object per line: {"Width":…,"Height":…}.
                    sizes.AddRange(data);
                    int newline;
                    while ((newline = sizes.IndexOf((byte)'\n')) >= 0)
                    {
                        var line = sizes.GetRange(0, newline).ToArray();
                        sizes.RemoveRange(0, newline + 1);
                        try
                        {
                            var size = JsonNode.Parse(line);
                            resize((int?)size?["Width"] ?? 0, (int?)size?["Height"] ?? 0);
                        }
                        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
                        {
                            // A malformed size is ignored.
                        }
                    }
                }
            }
        }
        finally
        {
            closeStdin();
        }
    }

    /// <summary>Closes stdout and stderr with FIN (once); the error stream closes with the status.</summary>
    public async Task CloseOutputAsync()
    {
        lock (_streams)
        {
            if (_outputClosed)
            {
                return;
            }

            _outputClosed = true;
        }

        foreach (var kind in new[] { "stdout", "stderr" })
        {
            if (StreamOf(kind) is { } id)
            {
                await SendDataAsync(id, [], fin: true).ConfigureAwait(false);
            }
        }
    }

    public void Dispose()
    {
        _connection.Dispose();
        _write.Dispose();
    }
}
