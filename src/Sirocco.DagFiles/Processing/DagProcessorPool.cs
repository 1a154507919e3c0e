using System.Globalization;

namespace Sirocco.DagFiles.Processing;

/// <summary>
/// The DAG-processor children of one <see cref="DagBag"/>: started on demand (at most as many as files parsed at once),
/// kept between collections, replaced when a file ended or spoiled one.
/// </summary>
internal sealed class DagProcessorPool : IDisposable
{
    private readonly DagProcessorOptions _options;
    private readonly TimeSpan _compileBudget;
    private readonly Stack<(DagProcessorChild Child, long Since)> _idle = new();
    private readonly HashSet<DagProcessorChild> _all = [];
    private readonly Timer? _idleSweep;
    private bool _disposed;

    public DagProcessorPool(DagProcessorOptions options, TimeSpan compileBudget)
    {
        _options = options;
        _compileBudget = compileBudget;
        if (options.IdleTimeout is { } idle && idle > TimeSpan.Zero)
        {
            var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, idle.Ticks / 4));
            _idleSweep = new Timer(_ => EndIdleChildren(idle), null, period, period);
        }
    }

    /// <summary>
    /// Runs one file in a child. The reply; or else an import error saying why the child gave none (it ended, or did not
    /// answer in time), after which the child is replaced. <c>Transient</c>: the failure was not the file's doing (no
    /// child could start, or the request never reached one, twice), so the file should be tried again next time.
    /// </summary>
    public async Task<(ProcessorReply? Reply, DagImportError? Failure, bool Transient)> RunAsync(DagFileParseRequest request, CancellationToken cancellationToken)
    {
        var path = request.FilePath;
        var limit = request.Timeout + _compileBudget + _options.ReplyAllowance;
        for (var attempt = 1; ; attempt++)
        {
            DagProcessorChild child;
            try
            {
                child = await TakeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (e is not ObjectDisposedException)
            {
                return (null, new DagImportError(path, $"{path}: not parsed: {e.Message}"), true);
            }

            ProcessorReply? reply;
            try
            {
                reply = await child.SendAsync(
                        new ProcessorRequest(0, path, request.Text, request.ContentHash, request.Timeout.TotalSeconds),
                        limit,
                        cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await RetireAsync(child).ConfigureAwait(false);
                if (child.NotDelivered && attempt == 1)
                {
                    continue; // the child had ended while idle: the file never reached it
                }

                return (null, new DagImportError(path, $"{path}: not parsed: the DAG processor failed: {e.Message}"), child.NotDelivered);
            }
            catch (OperationCanceledException)
            {
                // Mid-request, the child's reply can no longer be matched to a request: it goes.
                await RetireAsync(child).ConfigureAwait(false);
                throw;
            }

            if (reply is null)
            {
                var what = child.TimedOut
                    ? $"the DAG processor gave no answer within {limit.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s " +
                      "(the file's timeout, the compiler's budget and the processor's allowance) and was stopped"
                    : $"the DAG processor ended while running this file: {child.Describe()}";
                await RetireAsync(child).ConfigureAwait(false);
                return (null, new DagImportError(path, $"{path}: {what}. A new processor takes the next file; this one is not run again until it changes"), false);
            }

            if (reply.Tainted)
            {
                await RetireAsync(child).ConfigureAwait(false);
            }
            else
            {
                lock (_all)
                {
                    _idle.Push((child, Environment.TickCount64));
                }
            }

            return (reply, null, false);
        }
    }

    /// <summary>Ends every child (each sees its input close and exits; one that does not is killed).</summary>
    public void Dispose()
    {
        _idleSweep?.Dispose();
        DagProcessorChild[] all;
        lock (_all)
        {
            _disposed = true;
            _idle.Clear();
            all = [.. _all];
            _all.Clear();
        }

        Parallel.ForEach(all, c => c.Dispose());
    }

    private async Task<DagProcessorChild> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            DagProcessorChild idle;
            lock (_all)
            {
                // The most recently used first, so that the others can reach their idle timeout.
                if (!_idle.TryPop(out var entry))
                {
                    break;
                }

                idle = entry.Child;
            }

            if (idle.IsAlive)
            {
                return idle;
            }

            Forget(idle);
        }

        var child = await DagProcessorChild.StartAsync(_options, cancellationToken).ConfigureAwait(false);
        lock (_all)
        {
            if (!_disposed)
            {
                _all.Add(child);
                return child;
            }
        }

        child.Dispose();
        throw new ObjectDisposedException(nameof(DagBag));
    }

    /// <summary>Ends the children idle for longer than <paramref name="idle"/>: a compiler's memory is not kept for nothing.</summary>
    private void EndIdleChildren(TimeSpan idle)
    {
        try
        {
            EndIdleChildrenCore(idle);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ObjectDisposedException or System.ComponentModel.Win32Exception)
        {
            // On a timer thread: an exception here would end the host. A child that could not be ended now is ended with the bag.
        }
    }

    private void EndIdleChildrenCore(TimeSpan idle)
    {
        List<DagProcessorChild> expired = [];
        lock (_all)
        {
            if (_disposed)
            {
                return;
            }

            var now = Environment.TickCount64;
            var keep = _idle.Where(e => now - e.Since < (long)idle.TotalMilliseconds).Reverse().ToList();
            expired.AddRange(_idle.Where(e => now - e.Since >= (long)idle.TotalMilliseconds).Select(e => e.Child));
            _idle.Clear();
            foreach (var entry in keep)
            {
                _idle.Push(entry);
            }
        }

        foreach (var child in expired)
        {
            Forget(child);
        }
    }

    private async Task RetireAsync(DagProcessorChild child)
    {
        await child.StopAsync().ConfigureAwait(false);
        Forget(child);
    }

    private void Forget(DagProcessorChild child)
    {
        lock (_all)
        {
            _all.Remove(child);
        }

        child.Dispose();
    }
}
