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
    private int _failures;
    private Exception? _lastFailure;

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

    /// <summary>What the list-and-watch reads, for messages ("pods in namespace default").</summary>
    protected abstract string What { get; }

    /// <summary>Raised on each failed list or watch, with one line saying what failed, the attempt and the next delay.</summary>
    public event Action<string, Exception>? Failed;

    /// <summary>
    /// Waits until the first list arrived. Each failure on the way is written to <paramref name="log"/>; a failure no
    /// retry fixes (TLS, 401, 403) ends the wait at once, and so does <paramref name="budget"/> spent, both as a
    /// <see cref="SiroccoException"/> naming the server and the last error.
    /// </summary>
    public async Task WaitSyncedAsync(CancellationToken cancellationToken, Action<string>? log = null, TimeSpan? budget = null)
    {
        EnsureStarted();
        if (_synced.Task.IsCompleted)
        {
            return;
        }

        var permanent = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnFailed(string line, Exception e)
        {
            log?.Invoke(line);
            if (ApiRetry.IsPermanentAccessFailure(e))
            {
                permanent.TrySetResult(e);
            }
        }

        Failed += OnFailed;
        try
        {
            if (Volatile.Read(ref _lastFailure) is { } earlier && ApiRetry.IsPermanentAccessFailure(earlier))
            {
                permanent.TrySetResult(earlier);
            }

            var limit = budget ?? Runtime.Options.RetryBudget;
            var first = await Task.WhenAny(_synced.Task, permanent.Task).WaitAsync(limit, Runtime.Time, cancellationToken).ConfigureAwait(false);
            if (first == permanent.Task)
            {
                throw new SiroccoException($"Kubernetes API {Server}: listing {What} failed: {ApiRetry.Describe(await permanent.Task.ConfigureAwait(false))}");
            }
        }
        catch (TimeoutException)
        {
            var last = Volatile.Read(ref _lastFailure);
            throw new SiroccoException(
                $"Kubernetes API {Server} unreachable: listing {What} kept failing for {(budget ?? Runtime.Options.RetryBudget).TotalSeconds:0} s "
                + $"([kubernetes] api_retry_budget_seconds), {Volatile.Read(ref _failures)} attempts; last error: {(last is null ? "the call did not answer" : ApiRetry.Describe(last))}");
        }
        finally
        {
            Failed -= OnFailed;
        }
    }

    /// <summary>The API server's address, as messages name it.</summary>
    public string Server => Client.BaseUri?.ToString().TrimEnd('/') ?? "(unknown server)";

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
        var watched = false;
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
                if (watched)
                {
                    KubernetesMetrics.WatchRestarted(typeof(T) == typeof(k8s.Models.V1Pod) ? "pods" : "events");
                }

                watched = true;
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
            catch (Exception e)
            {
                // Unreachable or refused: say so to whoever waits, wait and resume from the last resourceVersion.
                var attempt = Interlocked.Increment(ref _failures);
                Volatile.Write(ref _lastFailure, e);
                Failed?.Invoke(
                    $"Kubernetes API {Server}: {(resourceVersion is null ? "listing" : "watching")} {What} failed (attempt {attempt}): {ApiRetry.Describe(e)}; "
                    + $"retrying in {delay.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s",
                    e);
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

    private void Heard()
    {
        Interlocked.Exchange(ref _lastHeardTicks, Runtime.Time.GetUtcNow().UtcTicks);
        Interlocked.Exchange(ref _failures, 0);
    }
}
