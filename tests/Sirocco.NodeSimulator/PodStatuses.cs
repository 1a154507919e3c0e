using k8s.Models;

namespace Sirocco.NodeSimulator;

/// <summary>The pod statuses a kubelet reports when a pod's containers start and when they end.</summary>
internal static class PodStatuses
{
    /// <summary>Every container running (init containers completed), the pod Ready.</summary>
    public static void Start(V1Pod pod, string hostIp, string podIp, DateTime now)
    {
        var status = pod.Status ??= new V1PodStatus();
        status.Phase = "Running";
        status.HostIP = hostIp;
        status.PodIP = podIp;
        status.PodIPs = [new V1PodIP { Ip = podIp }];
        status.StartTime = now;
        status.QosClass ??= "BestEffort";
        foreach (var type in new[] { "PodScheduled", "Initialized", "ContainersReady", "Ready" })
        {
            SetCondition(status, type, "True", null, now);
        }

        var uid = pod.Metadata.Uid;
        status.InitContainerStatuses = pod.Spec.InitContainers?.Select((c, i) => new V1ContainerStatus
        {
            Name = c.Name,
            Image = c.Image,
            ImageID = "simulated://" + c.Image,
            ContainerID = $"simulated://{uid}-init-{i}",
            Ready = true,
            RestartCount = 0,
            State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 0, Reason = "Completed", StartedAt = now, FinishedAt = now } },
        }).ToList();
        status.ContainerStatuses = pod.Spec.Containers.Select((c, i) => new V1ContainerStatus
        {
            Name = c.Name,
            Image = c.Image,
            ImageID = "simulated://" + c.Image,
            ContainerID = $"simulated://{uid}-{i}",
            Ready = true,
            Started = true,
            RestartCount = 0,
            State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = now } },
        }).ToList();
    }

    /// <summary>
    /// Every container ended with <paramref name="exitCode"/> at <paramref name="finishedAt"/> (when the containers
    /// exited; a kubelet reports that time even when its report comes late), <paramref name="now"/> if not given:
    /// Succeeded when the code is 0, else Failed.
    /// </summary>
    public static void Terminate(V1Pod pod, int exitCode, DateTime now, DateTime? finishedAt = null)
    {
        var status = pod.Status ??= new V1PodStatus();
        var reason = exitCode == 0 ? "Completed" : "Error";
        status.Phase = exitCode == 0 ? "Succeeded" : "Failed";
        SetCondition(status, "Ready", "False", "PodCompleted", now);
        SetCondition(status, "ContainersReady", "False", "PodCompleted", now);
        foreach (var container in status.ContainerStatuses ?? [])
        {
            var startedAt = container.State?.Running?.StartedAt ?? now;
            container.Ready = false;
            container.Started = false;
            container.State = new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated
                {
                    ExitCode = exitCode,
                    Reason = reason,
                    StartedAt = startedAt,
                    FinishedAt = finishedAt ?? now,
                    ContainerID = container.ContainerID,
                },
            };
        }
    }

    private static void SetCondition(V1PodStatus status, string type, string value, string? reason, DateTime now)
    {
        status.Conditions ??= [];
        var existing = status.Conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            status.Conditions.Add(new V1PodCondition { Type = type, Status = value, Reason = reason, LastTransitionTime = now });
            return;
        }

        if (existing.Status != value)
        {
            existing.LastTransitionTime = now;
        }

        existing.Status = value;
        existing.Reason = reason;
    }
}
