using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sirocco.DagFiles.Processing;

/// <summary>
/// One DAG-processor child process: requests go to its standard input and replies come from its standard output, one
/// JSON line each, one file at a time. Its standard error is kept (the last few KiB) to explain a crash.
/// </summary>
internal sealed class DagProcessorChild : IDisposable
{
    /// <summary>The environment variable telling the child its managed-memory limit in bytes.</summary>
    public const string MemoryLimitVariable = "SIROCCO_DAG_PROCESSOR_MEMORY_LIMIT";

    /// <summary>How the child's last line starts when it ends itself for using too much memory.</summary>
    public const string MemoryLimitMarker = "DAG processor memory limit reached";

    /// <summary>The child's exit code when it ends itself for using too much memory.</summary>
    public const int MemoryLimitExitCode = 86;

    private const int StderrKeep = 8192;
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private bool _disposed;
    private string? _cause;

    private readonly long _memoryLimitBytes;

    private DagProcessorChild(Process process, long memoryLimitBytes)
    {
        _process = process;
        _memoryLimitBytes = memoryLimitBytes;
    }

    /// <summary>The child's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the child still runs.</summary>
    public bool IsAlive => !_disposed && !_process.HasExited;

    /// <summary>Starts a child as the options say.</summary>
    public static DagProcessorChild Start(DagProcessorOptions options)
    {
        var start = new ProcessStartInfo(options.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in options.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in options.Environment)
        {
            start.Environment[name] = value;
        }

        var limit = options.MemoryLimitMegabytes is > 0 and var megabytes ? megabytes * 1024L * 1024L : 0;
        if (limit > 0)
        {
            // A backstop only: at the heap limit the runtime may crash rather than throw, so the watchdog (resident
            // memory, sampled while a file runs) is what normally stops a file, with a clear cause.
            start.Environment["DOTNET_GCHeapHardLimit"] = (limit * 2).ToString("X", CultureInfo.InvariantCulture);
            start.Environment[MemoryLimitVariable] = limit.ToString(CultureInfo.InvariantCulture);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {options.FileName}");
        var child = new DagProcessorChild(process, limit);
        process.ErrorDataReceived += (_, e) => child.KeepStderr(e.Data);
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// Sends one file and waits for the reply, at most <paramref name="limit"/>. Null when the child ended or did not
    /// answer in time (it is then stopped); <see cref="Describe"/> says what happened.
    /// </summary>
    public async Task<ProcessorReply?> SendAsync(ProcessorRequest request, TimeSpan limit, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_stderr)
        {
            _stderr.Clear();
            _cause = null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        using var watchdogStop = new CancellationTokenSource();
        var watchdog = _memoryLimitBytes > 0 ? WatchMemoryAsync(watchdogStop.Token) : Task.CompletedTask;
        try
        {
            var line = JsonSerializer.Serialize(request, ProcessorJson.Default.ProcessorRequest);
            await _process.StandardInput.WriteLineAsync(line.AsMemory(), timeout.Token).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync(timeout.Token).ConfigureAwait(false);
            var reply = await _process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            if (reply is not null)
            {
                return JsonSerializer.Deserialize(reply, ProcessorJson.Default.ProcessorReply);
            }
        }

        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            TimedOut = true;
        }
        catch (IOException)
        {
            // The child closed its input: it ended; Describe reads its exit code.
        }
        catch (JsonException e)
        {
            KeepStderr($"(unreadable reply: {e.Message})");
        }
        finally
        {
            await watchdogStop.CancelAsync().ConfigureAwait(false);
            await watchdog.ConfigureAwait(false);
        }

        await StopAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>Whether the last request ran out of time.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>What ended the child: its exit code or signal and the first lines it wrote to standard error.</summary>
    public string Describe()
    {
        string? stderr;
        string? cause;
        lock (_stderr)
        {
            stderr = _stderr.Length == 0 ? null : _stderr.ToString();
            cause = _cause;
        }

        var code = _process.HasExited ? _process.ExitCode : (int?)null;
        var exit = code switch
        {
            null => "still running",
            > 128 => $"exit code {code}, signal {code - 128}",
            _ => $"exit code {code}",
        };
        var first = stderr is null
            ? string.Empty
            : ": " + string.Join(" | ", stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(3));
        if (first.Length > 600)
        {
            first = first[..600] + "…";
        }

        return cause is null ? $"{exit}{first}" : $"{cause} ({exit})";
    }

    /// <summary>Stops the child: closes its input so it ends by itself, else kills it.</summary>
    public async Task StopAsync()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or not reaped within 5 s: nothing more to do.
        }
    }

    /// <summary>Ends the child: closing its input ends its loop; it is killed if it is still running.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(2)))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(5));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }

        _disposed = true;
        _process.Dispose();
    }

    private string MemoryCause => $"used more than its memory limit of {_memoryLimitBytes / (1024 * 1024)} MiB ([dag_processor] memory_limit_mb)";

    /// <summary>Samples the child's resident memory while a file runs; past the limit the child is killed, and the cause kept.</summary>
    private async Task WatchMemoryAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var status = $"/proc/{_process.Id}/status";
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var resident = ReadResidentBytes(status);
                if (resident > _memoryLimitBytes)
                {
                    lock (_stderr)
                    {
                        _cause = MemoryCause;
                    }

                    _process.Kill(entireProcessTree: true);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The reply came.
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // The child is gone, or /proc cannot be read: nothing to watch.
        }
    }

    private static long ReadResidentBytes(string statusPath)
    {
        foreach (var line in File.ReadLines(statusPath))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var number = line.AsSpan(6).Trim();
                var space = number.IndexOf(' ');
                return long.Parse(space < 0 ? number : number[..space], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private void KeepStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderr)
        {
            // The runtime's own last words name the cause; the text kept is the latest few KiB.
            if (line.StartsWith(MemoryLimitMarker, StringComparison.Ordinal) && _memoryLimitBytes > 0)
            {
                _cause ??= MemoryCause;
            }
            else if (line.Contains("Stack overflow", StringComparison.Ordinal))
            {
                _cause ??= "Stack overflow";
            }
            else if (line.Contains("OutOfMemory", StringComparison.Ordinal) || line.Contains("Out of memory", StringComparison.OrdinalIgnoreCase))
            {
                _cause ??= "out of memory";
            }

            if (_stderr.Length > StderrKeep)
            {
                _stderr.Remove(0, _stderr.Length - (StderrKeep / 2));
            }

            _stderr.Append(line).Append('\n');
        }
    }
}
