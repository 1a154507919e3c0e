using System.Globalization;
using System.Text;
using Sirocco.Masking;

namespace Sirocco.Scheduler;

/// <summary>Where task logs live: <c>LOGS/&lt;dag_id&gt;/&lt;task_id&gt;/&lt;logical date&gt;/&lt;try&gt;.log</c>.</summary>
public static class TaskLogPaths
{
    /// <summary>The log file of one try.</summary>
    public static string For(string logFolder, string dagId, string taskId, DateTimeOffset logicalDate, int tryNumber, int mapIndex = -1) =>
        Path.Combine(
            logFolder,
            dagId,
            taskId,
            AirflowTime.IsoFormat(logicalDate.ToUniversalTime()) + (mapIndex >= 0 ? $"_map{mapIndex}" : string.Empty),
            tryNumber.ToString(CultureInfo.InvariantCulture) + ".log");

    /// <summary>
    /// A try's log name in a remote log store, as Airflow 2 names it (its default <c>log_filename_template</c>):
    /// <c>dag_id=D/run_id=R/task_id=T/[map_index=M/]attempt=N.log</c>, so logs Airflow wrote to the bucket and logs
    /// Sirocco writes sit side by side.
    /// </summary>
    public static string RemoteName(string dagId, string taskId, string runId, int tryNumber, int mapIndex = -1) =>
        $"dag_id={dagId}/run_id={runId}/task_id={taskId}/{(mapIndex >= 0 ? $"map_index={mapIndex.ToString(CultureInfo.InvariantCulture)}/" : string.Empty)}attempt={tryNumber.ToString(CultureInfo.InvariantCulture)}.log";
}

/// <summary>
/// Writes one try's log: each line timestamped with its level, secrets masked, flushed as written so that readers see
/// it while the try runs.
/// </summary>
internal sealed class TaskLogWriter : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly SecretMasker _masker;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    private readonly Action<string>? _echo;

    public TaskLogWriter(string path, SecretMasker masker, TimeProvider time, Action<string>? echo = null)
    {
        _echo = echo;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        // Flushed once per message (below), not after each of the pieces a line is written in: a line was seven write
        // calls to the file system with AutoFlush, and is one now, still on disk before Write returns.
        _writer = new StreamWriter(stream, new UTF8Encoding(false));
        _masker = masker;
        _time = time;
        LogPath = path;
    }

    public string LogPath { get; }

    public void Info(string message) => Write("INFO", message);

    public void Warning(string message) => Write("WARNING", message);

    public void Error(string message) => Write("ERROR", message);

    public void Write(string level, string message)
    {
        var ts = _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);
        var text = _masker.Redact(message);
        lock (_lock)
        {
            foreach (var line in text.Split('\n'))
            {
                _writer.Write('[');
                _writer.Write(ts);
                _writer.Write("] {");
                _writer.Write(level);
                _writer.Write("} ");
                _writer.Write(line.TrimEnd('\r'));
                _writer.Write('\n');
                _echo?.Invoke($"[{ts}] {{{level}}} {line.TrimEnd('\r')}");
            }

            _writer.Flush();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }
}
