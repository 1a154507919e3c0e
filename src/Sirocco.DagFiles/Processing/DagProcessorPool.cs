using System.Collections.Concurrent;
using System.Globalization;

namespace Sirocco.DagFiles.Processing;

/// <summary>
/// The DAG-processor children of one <see cref="DagBag"/>: started on demand (at most as many as files parsed at once),
/// kept between collections, replaced when a file ended or spoiled one.
/// </summary>
internal sealed class DagProcessorPool(DagProcessorOptions options, TimeSpan compileBudget) : IDisposable
{
    private readonly ConcurrentBag<DagProcessorChild> _idle = [];
    private readonly HashSet<DagProcessorChild> _all = [];
    private int _started;
    private bool _disposed;

    /// <summary>How many children were started so far (replacements included).</summary>
    public int ChildrenStarted => Volatile.Read(ref _started);

    /// <summary>
    /// Runs one file in a child. The reply; or else an import error saying why the child gave none (it ended, or did not
    /// answer in time), after which the child is replaced. <c>Transient</c>: the failure was not the file's doing (no
    /// child could start, or the request never reached one, twice), so the file should be tried again next time.
    /// </summary>
    public async Task<(ProcessorReply? Reply, DagImportError? Failure, bool Transient)> RunAsync(DagFileParseRequest request, CancellationToken cancellationToken)
    {
        var path = request.FilePath;
        var limit = request.Timeout + compileBudget + options.ReplyAllowance;
        for (var attempt = 1; ; attempt++)
        {
            DagProcessorChild child;
            try
            {
                child = await TakeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
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
                _idle.Add(child);
            }

            return (reply, null, false);
        }
    }

    /// <summary>Ends every child (each sees its input close and exits; one that does not is killed).</summary>
    public void Dispose()
    {
        DagProcessorChild[] all;
        lock (_all)
        {
            _disposed = true;
            all = [.. _all];
            _all.Clear();
        }

        Parallel.ForEach(all, c => c.Dispose());
    }

    private async Task<DagProcessorChild> TakeAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryTake(out var idle))
        {
            if (idle.IsAlive)
            {
                return idle;
            }

            Forget(idle);
        }

        var child = await DagProcessorChild.StartAsync(options, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _started);
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
