using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>What to do with a pod that is starting: go on, fail with a message, or keep waiting.</summary>
internal readonly record struct StartDecision(bool Started, string? Failure);

/// <summary>
/// The start rules of ADR 0002 as a pure function of what the watch shows: started once the base container runs or
/// has run; image pull failures fail at once; the schedule timeout applies until the pod is scheduled, the startup
/// timeout throughout; the messages are the provider's, followed by what was seen.
/// </summary>
internal static class PodStart
{
    private static readonly string[] PullFailures = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"];

    public static StartDecision Evaluate(V1Pod? pod, string baseContainer, TimeSpan elapsed, int startupTimeoutSeconds, int? scheduleTimeoutSeconds, string? lastWarning)
    {
        var startup = TimeSpan.FromSeconds(startupTimeoutSeconds);
        var scheduleSeconds = scheduleTimeoutSeconds ?? startupTimeoutSeconds;
        if (pod is null)
        {
            return elapsed > startup
                ? new(false, $"Pod took too long to start. More than {startupTimeoutSeconds}s. Check the pod events in kubernetes.")
                : default;
        }

        if (HasStarted(pod, baseContainer))
        {
            return new(true, null);
        }

        if (WaitingReasons(pod).FirstOrDefault(w => PullFailures.Contains(w.Reason)) is { Reason: not null } pull)
        {
            return new(false, $"Pod docker image cannot be pulled, unable to start: {pull.Reason}\n{pull.Message}");
        }

        if (!IsScheduled(pod) && elapsed > TimeSpan.FromSeconds(scheduleSeconds))
        {
            return new(false, $"Pod took too long to be scheduled on the cluster, giving up. More than {scheduleSeconds}s. Check the pod events in kubernetes. {Seen(pod, lastWarning)}");
        }

        return elapsed > startup
            ? new(false, $"Pod took too long to start. More than {startupTimeoutSeconds}s. Check the pod events in kubernetes. {Seen(pod, lastWarning)}")
            : default;
    }

    public static bool IsScheduled(V1Pod pod) =>
        pod.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "True") == true;

    /// <summary>Started: the pod has ended, or its base container runs or has run.</summary>
    public static bool HasStarted(V1Pod pod, string baseContainer) =>
        pod.Status?.Phase is "Succeeded" or "Failed"
        || pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == baseContainer)?.State is { } s && (s.Running is not null || s.Terminated is not null);

    /// <summary>What was seen: an abnormal waiting reason, else the last warning event, else the scheduling condition or phase.</summary>
    public static string Seen(V1Pod pod, string? lastWarning)
    {
        var waiting = WaitingReasons(pod).FirstOrDefault(w => w.Reason is not null and not "ContainerCreating" and not "PodInitializing");
        if (waiting.Reason is not null)
        {
            return waiting.Message is { Length: > 0 } m ? $"{waiting.Reason}: {m}" : waiting.Reason;
        }

        if (lastWarning is not null)
        {
            return lastWarning;
        }

        var unscheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status != "True");
        return unscheduled is not null
            ? $"Unschedulable: {unscheduled.Message}"
            : $"Pod phase {pod.Status?.Phase ?? "unknown"}";
    }

    private static IEnumerable<(string? Reason, string? Message)> WaitingReasons(V1Pod pod) =>
        (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? [])
            .Where(c => c.State?.Waiting is not null)
            .Select(c => ((string?)c.State.Waiting.Reason, (string?)c.State.Waiting.Message));
}
