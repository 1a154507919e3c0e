using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sirocco.DagFiles.Processing;

/// <summary>
/// One DAG-processor child process: requests go to its standard input and replies come from its standard output, one
/// JSON line each, one file at a time, matched by id. Its standard error is read in bounded chunks; the latest few KiB
/// are kept to explain a crash.
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
    private const int OutputPerFile = 64 * 1024;
    private readonly Process _process;
    private readonly long _memoryLimitBytes;
    private readonly TextWriter? _output;
    private readonly StringBuilder _stderr = new();
    private int _copied;
    private readonly Task _stderrReader;
    private string? _cause;
    private long _nextId;
    private int _disposing;
    private bool _disposed;

    private DagProcessorChild(Process process, long memoryLimitBytes, TextWriter? output)
    {
        _process = process;
        _memoryLimitBytes = memoryLimitBytes;
        _output = output;
        _stderrReader = Task.Run(ReadStderrAsync);
    }

    /// <summary>Whether the child still runs.</summary>
    public bool IsAlive
    {
        get
        {
            try
            {
                return !_disposed && !_process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    /// <summary>Whether the last request ran out of time.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>Whether the last request never reached the child (it had ended before): not the file's doing.</summary>
    public bool NotDelivered { get; private set; }

    private string MemoryCause => $"used more than its memory limit of {_memoryLimitBytes / (1024 * 1024)} MiB";

    /// <summary>Starts a child as the options say and waits (at most <see cref="DagProcessorOptions.ReplyAllowance"/>) until it is ready.</summary>
    /// <exception cref="InvalidOperationException">The child could not start, or did not say it was ready; the message says why.</exception>
    public static async Task<DagProcessorChild> StartAsync(DagProcessorOptions options, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
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
            // A backstop only: at the heap limit the runtime may crash rather than throw, so the child's own check (managed
            // memory) and the parent's watchdog (resident memory) are what normally stop a file, with a clear cause.
            start.Environment["DOTNET_GCHeapHardLimit"] = (limit * 2).ToString("X", CultureInfo.InvariantCulture);
            start.Environment[MemoryLimitVariable] = limit.ToString(CultureInfo.InvariantCulture);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("the process did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"could not start the DAG processor ({options.FileName}): {e.Message}", e);
        }

        var child = new DagProcessorChild(process, limit, options.Output);
        using var ready = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ready.CancelAfter(options.ReplyAllowance);
        string? line = null;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(ready.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Not ready in time: said below.
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            child.Dispose();
            throw;
        }

        if (line is not null && TryRead(line) is { Id: 0 })
        {
            return child;
        }

        await child.StopAsync().ConfigureAwait(false);
        var why = line is null ? child.Describe() : $"unexpected first line: {Shorten(line)}";
        child.Dispose();
        throw new InvalidOperationException($"the DAG processor did not start ({options.FileName} {string.Join(' ', options.Arguments)}): {why}");
    }

    /// <summary>
    /// Sends one file and waits for the reply, at most <paramref name="limit"/>. Null when the child ended, answered
    /// something else, or did not answer in time (it is then stopped); <see cref="Describe"/> says what happened.
    /// </summary>
    public async Task<ProcessorReply?> SendAsync(ProcessorRequest request, TimeSpan limit, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_stderr)
        {
            _stderr.Clear();
            _cause = null;
            _copied = 0;
        }

        TimedOut = false;
        NotDelivered = false;
        var id = ++_nextId;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        using var watchdogStop = new CancellationTokenSource();
        var watchdog = _memoryLimitBytes > 0 ? WatchMemoryAsync(watchdogStop.Token) : Task.CompletedTask;
        try
        {
            try
            {
                var line = JsonSerializer.Serialize(request with { Id = id }, ProcessorJson.Default.ProcessorRequest);
                await _process.StandardInput.WriteLineAsync(line.AsMemory(), timeout.Token).ConfigureAwait(false);
                await _process.StandardInput.FlushAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (IOException)
            {
                NotDelivered = true;
                throw;
            }

            var reply = await _process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            if (reply is not null)
            {
                if (TryRead(reply) is { } answer && answer.Id == id)
                {
                    return answer;
                }

                Keep($"(a reply that does not answer request {id}: {Shorten(reply)})", copy: false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            TimedOut = true;
        }
        catch (IOException) when (!NotDelivered)
        {
            // The child ended; Describe reads its exit code.
        }
        finally
        {
            await watchdogStop.CancelAsync().ConfigureAwait(false);
            await watchdog.ConfigureAwait(false);
        }

        await StopAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>What ended the child: the cause when known, its exit code or signal, and what it last wrote to standard error.</summary>
    public string Describe()
    {
        string? stderr;
        string? cause;
        lock (_stderr)
        {
            stderr = _stderr.Length == 0 ? null : _stderr.ToString();
            cause = _cause;
        }

        int? code;
        try
        {
            code = _process.HasExited ? _process.ExitCode : null;
        }
        catch (InvalidOperationException)
        {
            code = null;
        }

        var exit = code switch
        {
            null => "still running",
            > 128 and < 160 => $"exit code {code}: signal {code - 128}",
            _ => $"exit code {code}",
        };
        if (cause is not null)
        {
            return $"{cause} ({exit})";
        }

        var last = stderr is null
            ? string.Empty
            : ": " + string.Join(" | ", stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));
        return exit + Shorten(last);
    }

    /// <summary>Kills the child if it still runs and waits (at most 5 s) for it to be gone.</summary>
    public async Task StopAsync()
    {
        if (_disposed)
        {
            return;
        }

        Kill();
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            await Task.WhenAny(_stderrReader, Task.Delay(Timeout.Infinite, wait.Token)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or TimeoutException)
        {
            // Not reaped within 5 s: nothing more to do.
        }
    }

    /// <summary>Ends the child: closing its input ends its loop; it is killed if it is still running after 2 s.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposing, 1) == 1)
        {
            return;
        }

        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // Already closed, or mid-write: the kill below ends it.
        }

        try
        {
            if (!_process.WaitForExit(TimeSpan.FromSeconds(2)))
            {
                Kill();
                _process.WaitForExit(TimeSpan.FromSeconds(5));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }

        _disposed = true;

        // Streams read directly are not closed by Process.Dispose.
        try
        {
            _process.StandardOutput.Dispose();
            _process.StandardError.Dispose();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // Not redirected, or already closed.
        }

        _process.Dispose();
    }

    private static ProcessorReply? TryRead(string line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, ProcessorJson.Default.ProcessorReply) is { Dags: not null, Errors: not null } reply ? reply : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string text) => text.Length > 600 ? text[..600] + "…" : text;

    private static long ReadResidentBytes(string statusPath)
    {
        foreach (var line in File.ReadLines(statusPath))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var number = line.AsSpan(6).Trim();
                var space = number.IndexOf(' ');
                return long.TryParse(space < 0 ? number : number[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib * 1024 : 0;
            }
        }

        return 0;
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or AggregateException or System.ComponentModel.Win32Exception)
        {
            // Gone already, or a descendant could not be killed: the child itself is what matters.
        }
    }

    /// <summary>Samples the child's resident memory while a file runs; past the limit the child is killed, and the cause kept.</summary>
    private async Task WatchMemoryAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var status = $"/proc/{_process.Id}/status";
        try
        {
            // What the file itself adds: memory the child held before it (the compiler's, earlier files') is not its.
            var before = ReadResidentBytes(status);
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                if (ReadResidentBytes(status) - before > _memoryLimitBytes)
                {
                    lock (_stderr)
                    {
                        _cause = MemoryCause;
                    }

                    Kill();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The reply came.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // The child is gone, or /proc cannot be read: nothing to watch.
        }
    }

    /// <summary>Reads standard error in chunks (a line without end cannot grow without bound) into the kept text.</summary>
    private async Task ReadStderrAsync()
    {
        var decoder = Encoding.UTF8.GetDecoder();
        var bytes = new byte[4096];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        try
        {
            var stream = _process.StandardError.BaseStream;
            int read;
            while ((read = await stream.ReadAsync(bytes).ConfigureAwait(false)) > 0)
            {
                var count = decoder.GetChars(bytes, 0, read, chars, 0);
                Keep(new string(chars, 0, count), copy: true);
            }
        }
        catch (Exception e)
        {
            // The child is gone, or copying failed: the reader must not end with an exception nobody observes.
            Keep($"(standard error no longer read: {e.GetType().Name})", copy: false);
        }
    }

    /// <summary>Copies to <see cref="DagProcessorOptions.Output"/>, up to its per-file budget, outside the lock.</summary>
    private void Copy(string text)
    {
        string part;
        bool last;
        lock (_stderr)
        {
            if (_output is null || _copied >= OutputPerFile)
            {
                return;
            }

            part = text.Length <= OutputPerFile - _copied ? text : text[..(OutputPerFile - _copied)];
            _copied += part.Length;
            last = _copied >= OutputPerFile;
        }

        try
        {
            _output.Write(part);
            if (last)
            {
                _output.WriteLine($"{Environment.NewLine}[DAG processor: output past {OutputPerFile / 1024} KiB for this file not shown]");
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The host's own error stream is gone: nothing to copy to.
        }
    }

    private void Keep(string text, bool copy)
    {
        if (copy)
        {
            Copy(text);
        }

        lock (_stderr)
        {
            _stderr.Append(text);
            if (_stderr.Length > StderrKeep)
            {
                _stderr.Remove(0, _stderr.Length - (StderrKeep / 2));
            }

            // The runtime's own last words name the cause; they are short, so the new text and a little before it (a
            // marker split between two reads) hold them.
            var from = Math.Max(0, _stderr.Length - text.Length - 64);
            var kept = _stderr.ToString(from, _stderr.Length - from);
            if (_memoryLimitBytes > 0 && kept.Contains(MemoryLimitMarker, StringComparison.Ordinal))
            {
                _cause ??= MemoryCause;
            }
            else if (kept.Contains("Stack overflow", StringComparison.Ordinal))
            {
                _cause ??= "Stack overflow";
            }
            else if (kept.Contains("OutOfMemoryException", StringComparison.Ordinal))
            {
                _cause ??= "out of memory";
            }
        }
    }
}
