using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// A try's pod events: written to its log as they come until the pod starts (later only those of the pending phase
/// that arrive late), kept for the start decision and for <c>log_events_on_failure</c>.
/// </summary>
internal sealed class PodEvents(PodTarget pod)
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<Corev1Event> _events = [];
    private volatile bool _live = true;
    private long _startSeenTicks;

    /// <summary>Follows the events of the pod on the cluster's shared event watch until disposed.</summary>
    public IDisposable Follow() => pod.Cluster.Events(pod.Ns).Subscribe(pod.Name!, OnEvent);

    /// <summary>The pod was seen started: from now on only events of the pending phase that come late are logged.</summary>
    public void StartSeen()
    {
        Interlocked.Exchange(ref _startSeenTicks, pod.Time.GetUtcNow().UtcTicks);
        _live = false;
    }

    /// <summary>The last warning so far, as "reason: message"; null when there is none.</summary>
    public string? LastWarning()
    {
        lock (_events)
        {
            return _events.LastOrDefault(e => e.Type == "Warning") is { } w ? $"{w.Reason}: {w.Message}" : null;
        }
    }

    /// <summary>Writes every event seen to the try's log.</summary>
    public void LogAll()
    {
        lock (_events)
        {
            foreach (var e in _events)
            {
                pod.Log($"Pod event: {e.Type} {e.Reason}: {e.Message}");
            }
        }
    }

    private void OnEvent(Corev1Event e)
    {
        var key = $"{e.Metadata?.Uid}/{e.Count}";
        lock (_events)
        {
            if (!_seen.Add(key))
            {
                return;
            }

            _events.Add(e);
        }

        if (_live || HappenedBeforeStart(e))
        {
            pod.Log($"Pod event: {e.Type} {e.Reason}: {e.Message}");
        }
    }

    /// <summary>
    /// An event of the pending phase that arrived after the start was seen: its watch is separate from the pod's, and a
    /// real scheduler records its event after the binding, so for a quick pod it often comes in late.
    /// </summary>
    private bool HappenedBeforeStart(Corev1Event e)
    {
        var seen = Interlocked.Read(ref _startSeenTicks);
        var when = e.EventTime ?? e.LastTimestamp ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp;
        return seen != 0 && when is { } w && (w.Kind == DateTimeKind.Local ? w.ToUniversalTime() : w).Ticks <= seen;
    }
}
