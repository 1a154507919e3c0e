using System.Globalization;
using System.Text;
using Sirocco.Scheduler;

namespace Sirocco.Web.Infrastructure;

/// <summary>One read of a try's log: whole lines from an offset, masked.</summary>
internal sealed record LogChunk(string Content, long NextOffset, bool EndOfLog, bool Exists);

/// <summary>Reads task log files incrementally, for the API's continuation tokens and the UI's live tail.</summary>
internal static class LogReader
{
    private const int ChunkLimit = 1024 * 1024;

    public static async Task<LogChunk> ReadAsync(WebState state, DagRun run, TaskInstance ti, int tryNumber, long offset, bool full, CancellationToken ct)
    {
        var path = TaskLogPaths.For(state.LogFolder, run.DagId, ti.TaskId, run.LogicalDate, tryNumber, ti.MapIndex);
        var finished = tryNumber < ti.TryNumber || (tryNumber == ti.TryNumber && ti.State is not (TaskInstanceState.Running or TaskInstanceState.Queued));
        if (!File.Exists(path))
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

            var want = full ? length - offset : Math.Min(length - offset, ChunkLimit);
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
