using System.Net;
using k8s;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// One list-then-watch loop over a kind in a namespace, shared by every try: it resumes a dropped watch from the last
/// resourceVersion (bookmarks keep it fresh), lists again when the server answers 410 Gone, and backs off while the
/// API server is unreachable. Subclasses keep what they need and wake their subscribers.
/// </summary>
internal abstract class Informer<T> : IAsyncDisposable
    where T : IKubernetesObject<V1ObjectMeta>
{
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _startLock = new();
    private Task? _loop;
    private long _lastHeardTicks;

    protected Informer(IKubernetes client, string ns, KubernetesRuntime runtime)
    {
        Client = client;
        Namespace = ns;
        Runtime = runtime;
    }

    public string Namespace { get; }

    /// <summary>Whether the watch is connected and heard from the server (event or bookmark) recently.</summary>
    public bool IsHealthy(TimeSpan within) =>
        Runtime.Time.GetUtcNow().UtcTicks - Interlocked.Read(ref _lastHeardTicks) < within.Ticks;

    protected IKubernetes Client { get; }

    protected KubernetesRuntime Runtime { get; }

    public Task WaitSyncedAsync(CancellationToken cancellationToken)
    {
        EnsureStarted();
        return _synced.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
        }

        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    protected void EnsureStarted()
    {
        if (_loop is not null)
        {
            return;
        }

        lock (_startLock)
        {
            _loop ??= Task.Run(() => RunAsync(_stop.Token));
        }
    }

    protected abstract Task<(IList<T> Items, string? ResourceVersion)> ListAsync(CancellationToken cancellationToken);

    protected abstract IAsyncEnumerable<(WatchEventType, T)> WatchAsync(string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken);

    /// <summary>The full state after a (re)list.</summary>
    protected abstract void OnReplace(IList<T> items);

    /// <summary>One change seen on the watch.</summary>
    protected abstract void OnChange(WatchEventType type, T item);

    private async Task RunAsync(CancellationToken stop)
    {
        string? resourceVersion = null;
        var delay = Runtime.Options.FirstRetryDelay;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    var (items, rv) = await ListAsync(stop).ConfigureAwait(false);
                    Heard();
                    OnReplace(items);
                    resourceVersion = rv;
                    _synced.TrySetResult();
                }

                Exception? streamError = null;
                var stream = WatchAsync(resourceVersion ?? "0", Runtime.Options.WatchTimeoutSeconds, e => streamError ??= e, stop);
                await foreach (var (type, item) in stream.ConfigureAwait(false))
                {
                    Heard();
                    delay = Runtime.Options.FirstRetryDelay;
                    if (item?.Metadata?.ResourceVersion is { } rv)
                    {
                        resourceVersion = rv;
                    }

                    if (type == WatchEventType.Bookmark || item is null)
                    {
                        continue;
                    }

                    if (type == WatchEventType.Error)
                    {
                        resourceVersion = null;
                        break;
                    }

                    OnChange(type, item);
                }

                if (streamError is not null && ApiRetry.StatusOf(streamError) == HttpStatusCode.Gone)
                {
                    resourceVersion = null;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (ApiRetry.StatusOf(e) == HttpStatusCode.Gone
                || (e is KubernetesException ke && ke.Status?.Code == 410))
            {
                resourceVersion = null;
            }
            catch (Exception)
            {
                // Unreachable or refused: wait and resume from the last resourceVersion.
                try
                {
                    await Task.Delay(delay, Runtime.Time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Runtime.Options.MaxRetryDelay.Ticks));
            }
        }
    }

    private void Heard() => Interlocked.Exchange(ref _lastHeardTicks, Runtime.Time.GetUtcNow().UtcTicks);
}
