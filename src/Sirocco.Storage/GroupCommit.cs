namespace Sirocco.Storage;

/// <summary>
/// Small writes made by many tries at once (a pod's identity, its XComs) committed together: callers queue their
/// statements, and one flush at a time runs everything queued so far in a single transaction on a single connection.
/// Ten thousand tries recording their pods then cost a few dozen transactions and one pooled connection, not ten
/// thousand of each (on PostgreSQL a connection per concurrent write exhausted the server's connections; on SQLite
/// every commit is a write to the journal).
/// </summary>
/// <remarks>
/// Each caller's statements keep their order and see the affected rows of their own statements. When a combined
/// transaction fails, each caller's statements are run again in a transaction of their own, so that one bad write
/// fails only its caller. A caller that stops waiting (its token) leaves its write queued: the writes are idempotent.
/// Callers are committed in the order of their row keys, the order in which the scheduler's own batches change the
/// same rows, so that two transactions never wait on each other's locks in a cycle.
/// </remarks>
internal sealed class GroupCommit
{
    /// <summary>The most callers one transaction takes; the rest go in the next flush.</summary>
    internal const int MaxCallersPerFlush = 500;

    private readonly Func<IReadOnlyList<(string Sql, (string, object?)[] Args)>, Task<int[]>> _execute;
    private readonly Lock _gate = new();
    private List<Pending> _queue = [];
    private bool _flushing;

    /// <param name="execute">Runs statements in one transaction and returns each one's affected rows.</param>
    public GroupCommit(Func<IReadOnlyList<(string Sql, (string, object?)[] Args)>, Task<int[]>> execute) => _execute = execute;

    /// <summary>
    /// Queues statements to commit together with others, ordered by <paramref name="rowKey"/> (the key of the row
    /// they lock first); completes with their affected rows once committed.
    /// </summary>
    public Task<int[]> RunAsync(string rowKey, IReadOnlyList<(string Sql, (string, object?)[] Args)> statements, CancellationToken cancellationToken)
    {
        var pending = new Pending(rowKey, statements);
        bool lead;
        lock (_gate)
        {
            _queue.Add(pending);
            lead = !_flushing;
            _flushing = true;
        }

        if (lead)
        {
            // Off the caller's stack: the caller waits on its own write like every other caller.
            _ = Task.Run(FlushAllAsync, CancellationToken.None);
        }

        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    private async Task FlushAllAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _flushing = false;
                    return;
                }

                if (_queue.Count <= MaxCallersPerFlush)
                {
                    batch = _queue;
                    _queue = [];
                }
                else
                {
                    batch = _queue.GetRange(0, MaxCallersPerFlush);
                    _queue.RemoveRange(0, MaxCallersPerFlush);
                }
            }

            await FlushAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task FlushAsync(List<Pending> batch)
    {
        batch = [.. batch.OrderBy(p => p.RowKey, StringComparer.Ordinal)];
        try
        {
            var affected = await _execute([.. batch.SelectMany(p => p.Statements)]).ConfigureAwait(false);
            var at = 0;
            foreach (var p in batch)
            {
                p.Done.TrySetResult(affected[at..(at + p.Statements.Count)]);
                at += p.Statements.Count;
            }
        }
        catch (Exception) when (batch.Count > 1)
        {
            // One caller's bad write must not fail the others: each one alone, and only its own error to it.
            foreach (var p in batch)
            {
                try
                {
                    p.Done.TrySetResult(await _execute(p.Statements).ConfigureAwait(false));
                }
                catch (Exception e)
                {
                    p.Done.TrySetException(e);
                }
            }
        }
        catch (Exception e)
        {
            batch[0].Done.TrySetException(e);
        }
    }

    private sealed class Pending(string rowKey, IReadOnlyList<(string Sql, (string, object?)[] Args)> statements)
    {
        public string RowKey { get; } = rowKey;

        public IReadOnlyList<(string Sql, (string, object?)[] Args)> Statements { get; } = statements;

        public TaskCompletionSource<int[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
