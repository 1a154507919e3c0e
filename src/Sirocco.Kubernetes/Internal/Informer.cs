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
    private long _watchOpenedTicks;

    protected Informer(IKubernetes client, string ns, KubernetesRuntime runtime)
    {
        Client = client;
        Namespace = ns;
        Runtime = runtime;
    }

    public string Namespace { get; }

    /// <summary>
    /// Whether the watch can be trusted: it heard from the server (list, event or bookmark) within
    /// <paramref name="within"/>, or a watch request is open and younger than its server-side timeout. A real API
    /// server sends bookmarks only about once a minute or just before a watch times out, so a quiet watch that is
    /// still open is healthy; one that failed, or outlived its timeout without ending (a dead connection), is not.
    /// </summary>
    public bool IsHealthy(TimeSpan within)
    {
        var now = Runtime.Time.GetUtcNow().UtcTicks;
        if (now - Interlocked.Read(ref _lastHeardTicks) < within.Ticks)
        {
            return true;
        }

        var opened = Interlocked.Read(ref _watchOpenedTicks);
        return opened != 0 && now - opened < TimeSpan.FromSeconds(Runtime.Options.WatchTimeoutSeconds + 30).Ticks;
    }

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
                Interlocked.Exchange(ref _watchOpenedTicks, Runtime.Time.GetUtcNow().UtcTicks);
                try
                {
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
                }
                finally
                {
                    Interlocked.Exchange(ref _watchOpenedTicks, 0);
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
