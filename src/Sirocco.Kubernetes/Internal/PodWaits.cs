using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Waits for a try's pod to start and to complete on the shared pod watch, deciding the start with
/// <see cref="PodStart"/>; the pod is read directly only when the watch cannot be trusted.
/// </summary>
internal sealed class PodWaits(PodTarget pod, PodEvents events)
{
    private DateTimeOffset? _unreachableSince;

    private KubernetesPodOperator Op => pod.Op;

    private TimeSpan Check => TimeSpan.FromSeconds(Math.Max(1, Op.StartupCheckIntervalSeconds));

    /// <summary>The pod once its base container runs or has run; <see cref="PodStartException"/> when it cannot start.</summary>
    public Task<V1Pod> StartAsync(CancellationToken token)
    {
        var startup = TimeSpan.FromSeconds(Op.StartupTimeoutSeconds);
        var schedule = TimeSpan.FromSeconds(Op.ScheduleTimeoutSeconds ?? Op.StartupTimeoutSeconds);
        var check = Check;
        return UntilAsync(
            (latest, elapsed) =>
            {
                var decision = PodStart.Evaluate(latest, Op.BaseContainerName, elapsed, Op.StartupTimeoutSeconds, Op.ScheduleTimeoutSeconds, events.LastWarning());
                if (decision.Started)
                {
                    return (latest, check);
                }

                if (decision.Failure is { } failure)
                {
                    throw new PodStartException(latest is null ? $"{failure} Pod {pod.Ns}/{pod.Name} was never seen." : failure);
                }

                var deadline = (latest is not null && PodStart.IsScheduled(latest) ? startup : TimeSpan.FromTicks(Math.Min(startup.Ticks, schedule.Ticks))) - elapsed;
                return (null, deadline < check ? deadline + TimeSpan.FromMilliseconds(10) : check);
            },
            () => new PodStartException($"Pod {pod.Ns}/{pod.Name} was deleted before it started"),
            token);
    }

    /// <summary>The pod once its base container has ended (or the pod has).</summary>
    public Task<V1Pod> CompletionAsync(CancellationToken token) =>
        UntilAsync(
            (latest, _) => (latest is not null && PodTarget.IsDone(latest, Op.BaseContainerName) ? latest : null, Check),
            () => new SiroccoException($"Pod {pod.Ns}/{pod.Name} was deleted while it ran"),
            token);

    /// <summary>
    /// Asks <paramref name="decide"/> about the pod (and the time since the wait began) at each change on the watch, or
    /// when the wait it gave is over, until it gives a pod; a deleted pod ends the wait with <paramref name="deleted"/>.
    /// </summary>
    private async Task<V1Pod> UntilAsync(Func<V1Pod?, TimeSpan, (V1Pod? Done, TimeSpan Wait)> decide, Func<Exception> deleted, CancellationToken token)
    {
        var sub = pod.Watched;
        var start = pod.Time.GetUtcNow();
        var check = Check;
        while (true)
        {
            token.ThrowIfCancellationRequested();
            var next = sub.Changed.Next;
            var latest = sub.Latest;
            if (sub.Deleted)
            {
                throw deleted();
            }

            var (done, wait) = decide(latest, pod.Time.GetUtcNow() - start);
            if (done is not null)
            {
                return done;
            }

            if (!await pod.WaitAsync(next, wait, token).ConfigureAwait(false))
            {
                await SafetyNetAsync(check, token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads the pod directly only when the shared watch cannot be trusted (it failed, or is silent and overdue).</summary>
    private async Task SafetyNetAsync(TimeSpan interval, CancellationToken token)
    {
        if (pod.Informer.IsHealthy(interval * 2))
        {
            _unreachableSince = null;
            return;
        }

        var budget = pod.Runtime.Options.RetryBudget;
        try
        {
            // Bounded: a server that accepts and never answers must not hold the try past its budget.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token);
            bounded.CancelAfter(TimeSpan.FromTicks(Math.Min(budget.Ticks, TimeSpan.FromSeconds(30).Ticks)));
            var read = await pod.ReadPodAsync(pod.Name!, bounded.Token, retry: false).ConfigureAwait(false);
            if (read is null)
            {
                pod.Watched.Update(null, deleted: true);
            }
            else
            {
                pod.Watched.Update(read);
            }
        }
        catch (Exception e) when (ApiRetry.IsTransient(e) && !token.IsCancellationRequested)
        {
            // The cluster is unreachable: keep waiting (the watch resumes when it is back), within the budget.
            var now = pod.Time.GetUtcNow();
            _unreachableSince ??= now;
            if (now - _unreachableSince.Value >= budget)
            {
                throw new SiroccoException(
                    $"Kubernetes API {pod.Server} unreachable: pod {pod.Ns}/{pod.Name} could not be watched or read for {budget.TotalSeconds:0} s "
                    + $"([kubernetes] api_retry_budget_seconds); last error: {ApiRetry.Describe(e)}",
                    e);
            }

            pod.Log($"Kubernetes API {pod.Server}: read pod {pod.Ns}/{pod.Name} failed while its watch is down: {ApiRetry.Describe(e)}; "
                + $"waiting ({(now - _unreachableSince.Value).TotalSeconds:0} s of {budget.TotalSeconds:0} s)");
            return;
        }
        catch (Exception e) when (ApiRetry.IsPermanentAccessFailure(e) && !token.IsCancellationRequested)
        {
            throw new SiroccoException($"Kubernetes API {pod.Server}: read pod {pod.Ns}/{pod.Name} failed: {ApiRetry.Describe(e)}", e);
        }

        _unreachableSince = null;
    }
}

/// <summary>The pod did not start: its events and spec are logged when the operator asks, and it is cleaned up.</summary>
internal sealed class PodStartException(string message) : SiroccoException(message);
