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
    /// Runs one file in a child. The reply, or else an import error saying why the child gave none (it ended, or did not
    /// answer in time); the child is then replaced.
    /// </summary>
    public async Task<(ProcessorReply? Reply, DagImportError? Failure)> RunAsync(DagFileParseRequest request, CancellationToken cancellationToken)
    {
        var child = Take();
        var limit = request.Timeout + compileBudget + options.ReplyAllowance;
        ProcessorReply? reply;
        try
        {
            reply = await child.SendAsync(
                    new ProcessorRequest(request.FilePath, request.Text, request.ContentHash, request.Timeout.TotalSeconds),
                    limit,
                    cancellationToken)
                .ConfigureAwait(false);
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
                ? $"the DAG processor gave no answer within {limit.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s and was stopped"
                : $"the DAG processor ended while running this file: {child.Describe()}";
            await RetireAsync(child).ConfigureAwait(false);
            return (null, new DagImportError(request.FilePath, $"{request.FilePath}: {what}. The processor was replaced; the file runs again when it changes"));
        }

        if (reply.Tainted)
        {
            await RetireAsync(child).ConfigureAwait(false);
        }
        else
        {
            _idle.Add(child);
        }

        return (reply, null);
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

    private DagProcessorChild Take()
    {
        while (_idle.TryTake(out var idle))
        {
            if (idle.IsAlive)
            {
                return idle;
            }

            Forget(idle);
        }

        DagProcessorChild child;
        try
        {
            child = DagProcessorChild.Start(options);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new InvalidOperationException(
                $"could not start the DAG processor ({options.FileName} {string.Join(' ', options.Arguments)}): {e.Message}", e);
        }

        Interlocked.Increment(ref _started);
        lock (_all)
        {
            if (_disposed)
            {
                child.Dispose();
                throw new ObjectDisposedException(nameof(DagBag));
            }

            _all.Add(child);
        }

        return child;
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
