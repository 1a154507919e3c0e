using System.Globalization;
using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Streams containers' output into the task log as it is produced. Each line comes with the kubelet's timestamp; when
/// the stream breaks, it is reopened from the last timestamp seen (sinceSeconds with a margin) and lines up to that
/// point are dropped (those with the very same timestamp by count), so nothing is lost or written twice. Streaming
/// ends when the container has terminated and its stream is drained; a stream still open long after that is cut and
/// read once more without follow, so a finished pod never hangs the try.
/// </summary>
internal sealed class PodLogs
{
    private const int KeptLines = 20;
    private readonly IKubernetes _client;
    private readonly string _ns;
    private readonly string _pod;
    private readonly PodSubscription _sub;
    private readonly KubernetesRuntime _runtime;
    private readonly List<(string Name, bool Init)> _containers;
    private readonly Action<string> _log;
    private readonly Dictionary<string, Queue<string>> _last = new(StringComparer.Ordinal);

    private readonly bool? _prefixContainerNames;
    private int _formatterFailed;
    private int _progressFailed;

    /// <summary>The operator's <c>log_formatter</c>: (container, line) to the line written.</summary>
    public Func<string, string, string>? Formatter { get; init; }

    /// <summary>Called with each line and its container (the operator's <c>progress_callback</c>, then its callbacks').</summary>
    public Action<string, string>? Progress { get; init; }

    public PodLogs(IKubernetes client, string ns, string pod, PodSubscription sub, KubernetesRuntime runtime, List<(string Name, bool Init)> containers, Action<string> log, bool? prefixContainerNames = null)
    {
        _prefixContainerNames = prefixContainerNames;
        _client = client;
        _ns = ns;
        _pod = pod;
        _sub = sub;
        _runtime = runtime;
        _containers = containers;
        _log = log;
        foreach (var (name, _) in containers)
        {
            _last[name] = new Queue<string>(KeptLines);
        }
    }

    /// <summary>How many times a stream was reopened after a break (for tests).</summary>
    public int Reconnects { get; private set; }

    public IReadOnlyList<string> LastLines(string container)
    {
        if (!_last.TryGetValue(container, out var queue))
        {
            return [];
        }

        lock (queue)
        {
            return [.. queue];
        }
    }

    public async Task StreamAsync(CancellationToken token)
    {
        // The container's name before each line: as the operator says, else only when several containers are logged.
        var prefix = _prefixContainerNames ?? _containers.Count > 1;
        foreach (var (name, _) in _containers.Where(c => c.Init))
        {
            await StreamContainerAsync(name, init: true, prefix, token).ConfigureAwait(false);
        }

        await Task.WhenAll(_containers.Where(c => !c.Init).Select(c => StreamContainerAsync(c.Name, init: false, prefix, token))).ConfigureAwait(false);
    }

    private bool Terminated(string container, bool init)
    {
        var pod = _sub.Latest;
        if (_sub.Deleted || pod is null)
        {
            return _sub.Deleted;
        }

        if (pod.Status?.Phase is "Succeeded" or "Failed")
        {
            return true;
        }

        return StatusOf(container, init)?.State?.Terminated is not null;
    }

    private k8s.Models.V1ContainerStatus? StatusOf(string container, bool init)
    {
        var status = _sub.Latest?.Status;
        var statuses = init ? status?.InitContainerStatuses : status?.ContainerStatuses;
        return statuses?.FirstOrDefault(s => s.Name == container);
    }

    private async Task StreamContainerAsync(string container, bool init, bool prefix, CancellationToken token)
    {
        var cursor = new LogCursor();
        var delay = _runtime.Options.FirstRetryDelay;
        DateTimeOffset? failingSince = null;
        var failures = 0;
        var linePrefix = prefix ? $"[{container}] " : string.Empty;
        while (true)
        {
            token.ThrowIfCancellationRequested();
            cursor.Reopen();
            var terminatedBefore = Terminated(container, init);
            int? since = cursor.Last is { } last
                ? (int)Math.Max(1, Math.Ceiling((_runtime.Time.GetUtcNow() - last).TotalSeconds) + 2)
                : null;
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
            var drain = terminatedBefore ? Task.CompletedTask : CutWhenDrainedTooLongAsync(container, init, attempt);
            try
            {
                using var response = await _client.CoreV1.ReadNamespacedPodLogWithHttpMessagesAsync(
                    _pod,
                    _ns,
                    container: container,
                    follow: !terminatedBefore,
                    sinceSeconds: since,
                    timestamps: true,
                    cancellationToken: attempt.Token).ConfigureAwait(false);
                await ReadLinesAsync(response.Body, cursor, line => Write(container, linePrefix, line), attempt.Token).ConfigureAwait(false);
                var streamEnded = _runtime.Time.GetUtcNow();
                failingSince = null;
                failures = 0;
                delay = _runtime.Options.FirstRetryDelay;
                if (terminatedBefore || await WaitTerminatedAsync(container, init, TimeSpan.FromSeconds(2), token).ConfigureAwait(false))
                {
                    return;
                }

                // The server ended the stream but the watch does not show the container terminated. A kubelet ends a
                // followed log when the container exits, so this is nearly always a status that is late (a busy API
                // server or node), and a stream opened again at once would end at once, every 2 s, until it arrives
                // (25 requests a try were seen with 10,000 pods). Wait on the watch instead. When the status comes and
                // the container exited no later than the stream ended (its finishedAt, which the kubelet stamps with
                // the exit time even when it reports it late, in whole seconds), the stream held all it wrote. Else
                // the next attempt reads from the last timestamp: without follow if it has terminated, else following.
                if (await WaitTerminatedAsync(container, init, _runtime.Options.LogEndedEarlyWait, token).ConfigureAwait(false)
                    && FinishedAt(container, init) is { } finished && finished <= streamEnded)
                {
                    return;
                }

                Reconnects++;
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                // Cut after the drain timeout: read once more without follow.
                Reconnects++;
                continue;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
            {
                _log($"Log of container {container} is gone: pod {_ns}/{_pod} no longer exists");
                return;
            }
            catch (Exception e) when (!token.IsCancellationRequested && (ApiRetry.IsTransient(e) || e is HttpOperationException))
            {
                failingSince ??= _runtime.Time.GetUtcNow();
                var server = _client.BaseUri?.ToString().TrimEnd('/');
                if (_runtime.Time.GetUtcNow() - failingSince > _runtime.Options.RetryBudget)
                {
                    _log($"Giving up the log of container {container} after {_runtime.Options.RetryBudget.TotalSeconds:0} s of errors "
                        + $"([kubernetes] api_retry_budget_seconds); last error from {server}: {ApiRetry.Describe(e)}");
                    return;
                }

                Reconnects++;
                _log($"Kubernetes API {server}: the log stream of container {container} failed (attempt {++failures}): {ApiRetry.Describe(e)}; "
                    + $"reconnecting in {delay.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s");
                await Task.Delay(delay, _runtime.Time, token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _runtime.Options.MaxRetryDelay.Ticks));
            }
            finally
            {
                await attempt.CancelAsync().ConfigureAwait(false);
                try
                {
                    await drain.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The attempt ended first.
                }
            }
        }
    }

    private void Write(string container, string prefix, string content)
    {
        KubernetesMetrics.LogStreamed(System.Text.Encoding.UTF8.GetByteCount(content) + 1);
        var queue = _last[container];
        lock (queue)
        {
            if (queue.Count == KeptLines)
            {
                queue.Dequeue();
            }

            queue.Enqueue(content);
        }

        if (Progress is { } progress)
        {
            _ = Guarded(ref _progressFailed, "progress_callback", "it is not called again for this try", container, () => progress(container, content));
        }

        if (Formatter is { } formatter && Guarded(ref _formatterFailed, "log_formatter", "lines are written unformatted from here", container, () => _log(formatter(container, content))))
        {
            return;
        }

        _log(prefix + content);
    }

    /// <summary>
    /// Runs an operator hook for one line unless it failed before; its first failure is logged once. True when it ran.
    /// </summary>
    private bool Guarded(ref int failed, string hook, string consequence, string container, Action call)
    {
        if (Volatile.Read(ref failed) != 0)
        {
            return false;
        }

        try
        {
            call();
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (Interlocked.Exchange(ref failed, 1) == 0)
            {
                _log($"{hook} failed on a line of container {container}, so {consequence}: {e.Message}");
            }

            return false;
        }
    }

    /// <summary>When the container exited, as its terminated status says (null while it runs or when not given).</summary>
    private DateTimeOffset? FinishedAt(string container, bool init) =>
        StatusOf(container, init)?.State?.Terminated?.FinishedAt is { } at
            ? new DateTimeOffset(DateTime.SpecifyKind(at.ToUniversalTime(), DateTimeKind.Utc))
            : null;

    private async Task<bool> WaitTerminatedAsync(string container, bool init, TimeSpan timeout, CancellationToken token)
    {
        var deadline = _runtime.Time.GetUtcNow() + timeout;
        while (true)
        {
            var next = _sub.Changed.Next;
            if (Terminated(container, init))
            {
                return true;
            }

            var left = deadline - _runtime.Time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await next.WaitAsync(left, _runtime.Time, token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return Terminated(container, init);
            }
        }
    }

    private async Task CutWhenDrainedTooLongAsync(string container, bool init, CancellationTokenSource attempt)
    {
        while (true)
        {
            var next = _sub.Changed.Next;
            if (Terminated(container, init))
            {
                await Task.Delay(_runtime.Options.LogDrainTimeout, _runtime.Time, attempt.Token).ConfigureAwait(false);
                await attempt.CancelAsync().ConfigureAwait(false);
                return;
            }

            await next.WaitAsync(attempt.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Reads complete lines; a partial line is kept only at a clean end of stream.</summary>
    internal static async Task ReadLinesAsync(Stream stream, LogCursor cursor, Action<string> write, CancellationToken token)
    {
        // Small at first (10,000 followed streams held 640 MB of buffers at 64 KiB each); it doubles for a longer line.
        var buffer = new byte[8 * 1024];
        var filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var read = await stream.ReadAsync(buffer.AsMemory(filled), token).ConfigureAwait(false);
            if (read == 0)
            {
                if (filled > 0)
                {
                    cursor.Offer(Encoding.UTF8.GetString(buffer, 0, filled), write);
                }

                return;
            }

            var start = 0;
            var end = filled + read;
            for (var i = filled; i < end; i++)
            {
                if (buffer[i] == (byte)'\n')
                {
                    var length = i - start;
                    if (length > 0 && buffer[i - 1] == (byte)'\r')
                    {
                        length--;
                    }

                    cursor.Offer(Encoding.UTF8.GetString(buffer, start, length), write);
                    start = i + 1;
                }
            }

            filled = end - start;
            if (filled > 0 && start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, filled);
            }
        }
    }
}

/// <summary>
/// Where a container's log has been read up to: the last timestamp written and how many lines carried it, so that a
/// reopened stream (which starts earlier) skips exactly what was already written.
/// </summary>
internal sealed class LogCursor
{
    private int _sameCount;
    private int _toSkip;

    public DateTimeOffset? Last { get; private set; }

    /// <summary>Lines written so far.</summary>
    public long Written { get; private set; }

    /// <summary>Takes one timestamped line; writes its content unless it was written before.</summary>
    public void Offer(string line, Action<string> write)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        var stamp = space > 0 ? ParseTimestamp(line.AsSpan(0, space)) : null;
        if (stamp is null)
        {
            Written++;
            write(line);
            return;
        }

        var content = line[(space + 1)..];
        if (Last is { } last)
        {
            if (stamp < last)
            {
                return;
            }

            if (stamp == last)
            {
                if (_toSkip > 0)
                {
                    _toSkip--;
                    return;
                }

                _sameCount++;
                Written++;
                write(content);
                return;
            }
        }

        _toSkip = 0;
        Last = stamp;
        _sameCount = 1;
        Written++;
        write(content);
    }

    /// <summary>Called before a stream is reopened: lines at the last timestamp will come again.</summary>
    public void Reopen() => _toSkip = _sameCount;

    /// <summary>RFC 3339 with up to 9 fractional digits (kept to the 100 ns tick).</summary>
    internal static DateTimeOffset? ParseTimestamp(ReadOnlySpan<char> text)
    {
        var s = text.ToString();
        var dot = s.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var fracEnd = dot + 1;
            while (fracEnd < s.Length && char.IsAsciiDigit(s[fracEnd]))
            {
                fracEnd++;
            }

            s = string.Concat(s.AsSpan(0, Math.Min(fracEnd, dot + 8)), s.AsSpan(fracEnd));
        }

        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : null;
    }
}
