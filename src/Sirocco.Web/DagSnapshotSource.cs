using Sirocco.Scheduler;

namespace Sirocco.Web;

/// <summary>
/// Wraps a DAG source and keeps its latest collection, so that the web server reads the DAGs the scheduler works on
/// without parsing files per request. Give it to the scheduler in place of the inner source (standalone), or call
/// <see cref="WatchAsync"/> when no scheduler runs in the process (<c>sirocco webserver</c>); pass <see cref="Current"/>
/// as <see cref="WebServerOptions.Dags"/>.
/// </summary>
public sealed class DagSnapshotSource : IDagSource
{
    private readonly IDagSource _inner;
    private volatile IReadOnlyDictionary<string, Dag> _dags = new Dictionary<string, Dag>(StringComparer.Ordinal);

    /// <summary>Creates a snapshot over <paramref name="inner"/> (empty until the first collection).</summary>
    public DagSnapshotSource(IDagSource inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <summary>The DAGs of the latest collection, by id.</summary>
    public IReadOnlyDictionary<string, Dag> Current() => _dags;

    /// <inheritdoc/>
    public async Task<DagCollection> CollectAsync(CancellationToken cancellationToken)
    {
        var collection = await _inner.CollectAsync(cancellationToken).ConfigureAwait(false);
        _dags = collection.Dags;
        return collection;
    }

    /// <inheritdoc/>
    public Task WaitForChangeAsync(CancellationToken cancellationToken) => _inner.WaitForChangeAsync(cancellationToken);

    /// <summary>Collects now and again after each change, until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task WatchAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await CollectAsync(cancellationToken).ConfigureAwait(false);
                await WaitForChangeAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
