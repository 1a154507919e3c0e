using System.Globalization;
using System.Text;
using Sirocco.Scheduler;

namespace Sirocco.Web.Infrastructure;

/// <summary>One read of a try's log: whole lines from an offset, masked.</summary>
internal sealed record LogChunk(string Content, long NextOffset, bool EndOfLog, bool Exists);

/// <summary>
/// Reads task log files incrementally, for the API's continuation tokens and the UI's live tail, in bounded memory: a
/// read returns at most <see cref="ChunkLimit"/> bytes (<see cref="FullLimit"/> for a full read as JSON), the page shows
/// the log's last part, and a whole log is streamed line by line.
/// </summary>
internal static class LogReader
{
    /// <summary>The most one incremental read returns.</summary>
    public const int ChunkLimit = 1024 * 1024;

    /// <summary>The most a <c>full_content</c> read returns as JSON; the rest comes with the continuation token.</summary>
    public const int FullLimit = 16 * 1024 * 1024;

    /// <summary>The file to read a try's log from: the local one, else a copy of the remote one (remote logging); null when neither exists.</summary>
    public static Task<string?> LocateAsync(WebState state, DagRun run, TaskInstance ti, int tryNumber, CancellationToken ct) =>
        TaskLogFiles.LocateAsync(
            state.LogFolder,
            TaskLogPaths.For(state.LogFolder, run.DagId, ti.TaskId, run.LogicalDate, tryNumber, ti.MapIndex),
            TaskLogPaths.RemoteName(run.DagId, ti.TaskId, run.RunId, tryNumber, ti.MapIndex),
            state.Options.RemoteLogs,
            TaskLogFiles.Finished(ti, tryNumber),
            ct);

    /// <summary>The last part of a log (whole lines, at most <see cref="ChunkLimit"/> bytes) and how many bytes come before it.</summary>
    public static async Task<(LogChunk Chunk, long Skipped)> ReadTailAsync(WebState state, DagRun run, TaskInstance ti, int tryNumber, CancellationToken ct)
    {
        var path = await LocateAsync(state, run, ti, tryNumber, ct).ConfigureAwait(false);
        long start = 0;
        if (path is not null && new FileInfo(path).Length is var length && length > ChunkLimit)
        {
            // Start after the first newline of the last ChunkLimit bytes, so the tail begins with a whole line.
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096);
            probe.Position = length - ChunkLimit;
            var buffer = new byte[64 * 1024];
            var n = await probe.ReadAsync(buffer, ct).ConfigureAwait(false);
            var newline = Array.IndexOf(buffer, (byte)'\n', 0, n);
            start = length - ChunkLimit + (newline < 0 ? n : newline + 1);
        }

        return (await ReadAsync(state, path, TaskLogFiles.Finished(ti, tryNumber), start, false, ct).ConfigureAwait(false), start);
    }

    /// <summary>Writes a whole log, masked, line by line (memory bounded by the longest line).</summary>
    public static async Task StreamAsync(WebState state, string? path, long offset, Stream output, CancellationToken ct)
    {
        if (path is null || !File.Exists(path))
        {
            return;
        }

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            stream.Position = Math.Min(offset, stream.Length);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var writer = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024);
            await using (writer.ConfigureAwait(false))
            {
                while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
                {
                    await writer.WriteAsync(state.Masker.Redact(line).AsMemory(), ct).ConfigureAwait(false);
                    await writer.WriteAsync('\n').ConfigureAwait(false);
                }
            }
        }
    }

    public static async Task<LogChunk> ReadAsync(WebState state, DagRun run, TaskInstance ti, int tryNumber, long offset, bool full, CancellationToken ct) =>
        await ReadAsync(state, await LocateAsync(state, run, ti, tryNumber, ct).ConfigureAwait(false), TaskLogFiles.Finished(ti, tryNumber), offset, full, ct).ConfigureAwait(false);

    private static async Task<LogChunk> ReadAsync(WebState state, string? path, bool finished, long offset, bool full, CancellationToken ct)
    {
        if (path is null || !File.Exists(path))
        {
            return new LogChunk(string.Empty, offset, finished, false);
        }

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            var length = stream.Length;
            if (offset > length)
            {
                offset = length;
            }

            var want = Math.Min(length - offset, full ? FullLimit : ChunkLimit);
            var buffer = new byte[want];
            stream.Position = offset;
            var read = 0;
            while (read < want)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read, (int)(want - read)), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            // Only whole lines, so a secret is never split across two reads (the masker sees it whole).
            var end = read;
            if (!finished || read < length - offset)
            {
                var lastNewline = Array.LastIndexOf(buffer, (byte)'\n', Math.Max(0, read - 1));
                end = read == 0 ? 0 : lastNewline + 1;
            }

            var text = Encoding.UTF8.GetString(buffer, 0, end);
            var next = offset + end;
            return new LogChunk(state.Masker.Redact(text), next, finished && next >= length, true);
        }
    }

    public static string Token(long offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("offset:" + offset.ToString(CultureInfo.InvariantCulture))).TrimEnd('=');

    public static long ParseToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return 0;
        }

        try
        {
            var padded = token.PadRight(token.Length + ((4 - (token.Length % 4)) % 4), '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(padded));
            if (text.StartsWith("offset:", StringComparison.Ordinal)
                && long.TryParse(text.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                return offset;
            }
        }
        catch (FormatException)
        {
        }

        throw ApiException.BadRequest($"token '{Operations.Shorten(token)}' is not a continuation token returned by this API");
    }
}
