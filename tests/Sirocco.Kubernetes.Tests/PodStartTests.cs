using k8s.Models;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes.Tests;

/// <summary>The start rules on synthetic pod statuses (the local cluster never pulls images, so pull failures are tested here).</summary>
public sealed class PodStartTests
{
    private static V1Pod Pending(bool scheduled, string? reason = null, string? message = null, string container = "base") => new()
    {
        Status = new V1PodStatus
        {
            Phase = "Pending",
            Conditions = [new V1PodCondition { Type = "PodScheduled", Status = scheduled ? "True" : "False", Message = scheduled ? null : "0/1 nodes are available: 1 Insufficient cpu." }],
            ContainerStatuses = reason is null
                ? null
                : [new V1ContainerStatus { Name = container, State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } } }],
        },
    };

    [Theory]
    [InlineData("ErrImagePull")]
    [InlineData("ImagePullBackOff")]
    [InlineData("InvalidImageName")]
    public void Image_pull_failures_fail_at_once_with_the_reason(string reason)
    {
        var d = PodStart.Evaluate(Pending(true, reason, "manifest unknown"), "base", TimeSpan.FromSeconds(1), 120, null, null);
        Assert.Equal($"Pod docker image cannot be pulled, unable to start: {reason}\nmanifest unknown", d.Failure);
    }

    [Fact]
    public void Unscheduled_pod_fails_after_the_schedule_timeout_with_the_condition()
    {
        var pod = Pending(false);
        Assert.Null(PodStart.Evaluate(pod, "base", TimeSpan.FromSeconds(9), 120, 10, null).Failure);
        Assert.Equal(
            "Pod took too long to be scheduled on the cluster, giving up. More than 10s. Check the pod events in kubernetes. Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.",
            PodStart.Evaluate(pod, "base", TimeSpan.FromSeconds(11), 120, 10, null).Failure);
    }

    [Fact]
    public void Scheduled_pod_fails_after_the_startup_timeout_with_the_waiting_reason_or_the_last_warning()
    {
        var configError = Pending(true, "CreateContainerConfigError", "secret \"airflow-secrets\" not found");
        var creating = Pending(true, "ContainerCreating");

        Assert.Null(PodStart.Evaluate(configError, "base", TimeSpan.FromSeconds(299), 300, null, null).Failure);
        Assert.Equal(
            "Pod took too long to start. More than 300s. Check the pod events in kubernetes. CreateContainerConfigError: secret \"airflow-secrets\" not found",
            PodStart.Evaluate(configError, "base", TimeSpan.FromSeconds(301), 300, null, null).Failure);
        Assert.Equal(
            "Pod took too long to start. More than 300s. Check the pod events in kubernetes. FailedMount: secret \"service-account\" not found",
            PodStart.Evaluate(creating, "base", TimeSpan.FromSeconds(301), 300, null, "FailedMount: secret \"service-account\" not found").Failure);
    }

    [Fact]
    public void Started_means_the_base_container_runs_not_a_sidecar()
    {
        var pod = Pending(true, "CreateContainerConfigError", "x");
        pod.Status.ContainerStatuses.Add(new V1ContainerStatus { Name = "airflow-xcom-sidecar", State = new V1ContainerState { Running = new V1ContainerStateRunning() } });
        Assert.False(PodStart.Evaluate(pod, "base", TimeSpan.Zero, 120, null, null).Started);

        pod.Status.ContainerStatuses[0].State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 0 } };
        Assert.True(PodStart.Evaluate(pod, "base", TimeSpan.Zero, 120, null, null).Started);
    }
}
