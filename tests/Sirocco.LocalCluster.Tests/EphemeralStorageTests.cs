using k8s;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

/// <summary>
/// Local ephemeral storage limits enforced as the kubelet's eviction manager does: an emptyDir's sizeLimit, a
/// container's ephemeral-storage limit and the pod's total; the pod is evicted with the kubelet's messages.
/// </summary>
[Collection("cluster")]
public sealed class EphemeralStorageTests(ClusterFixture fx)
{
    private readonly Kubernetes _client = fx.Client;

    private static V1Pod Writer(string name, string script, string? limit = null)
    {
        var pod = ClusterFixture.Pod(name, "sh", "-c", script);
        pod.Spec.TerminationGracePeriodSeconds = 0;
        if (limit is not null)
        {
            pod.Spec.Containers[0].Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["ephemeral-storage"] = new(limit) } };
        }

        return pod;
    }

    private async Task<V1Pod> EvictedAsync(string ns, string name)
    {
        var done = await fx.WaitForPodAsync(ns, name, ClusterFixture.Done, 60);
        Assert.Equal("Failed", done.Status.Phase);
        Assert.Equal("Evicted", done.Status.Reason);
        var events = await _client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.name={name}");
        Assert.Contains(events.Items, e => e.Reason == "Evicted" && e.Type == "Warning" && e.Message == done.Status.Message);
        return done;
    }

    [Fact]
    public async Task A_pod_whose_only_container_writes_past_its_limit_is_evicted_with_the_kubelets_pod_message()
    {
        // The kubelet checks the pod's total (the sum of its containers' limits) before each container's own.
        var ns = await fx.NamespaceAsync("evict-single");
        await _client.CoreV1.CreateNamespacedPodAsync(Writer("filler", "head -c 3145728 /dev/zero > /tmp/fill; echo written; sleep 600", "1Mi"), ns);

        var done = await EvictedAsync(ns, "filler");

        Assert.Equal("Pod ephemeral local storage usage exceeds the total limit of containers 1Mi. ", done.Status.Message);
        Assert.NotNull(done.Status.ContainerStatuses.Single().State.Terminated);
    }

    [Fact]
    public async Task A_container_over_its_own_limit_within_the_pods_total_is_evicted_with_the_container_message()
    {
        var ns = await fx.NamespaceAsync("evict-container");
        var pod = Writer("greedy", "head -c 1572864 /dev/zero > /tmp/fill; sleep 600", "1Mi");
        var quiet = Writer("x", "sleep 600", "1Mi").Spec.Containers[0];
        quiet.Name = "quiet";
        pod.Spec.Containers.Add(quiet);
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        var done = await EvictedAsync(ns, "greedy");

        Assert.Equal("Container main exceeded its local ephemeral storage limit \"1Mi\". ", done.Status.Message);
        Assert.All(done.Status.ContainerStatuses, s => Assert.NotNull(s.State.Terminated));
    }

    [Fact]
    public async Task An_empty_dir_over_its_size_limit_evicts_the_pod_and_one_under_it_runs_to_the_end()
    {
        var ns = await fx.NamespaceAsync("evict-emptydir");
        var over = Writer("over", "head -c 2097152 /dev/zero > /scratch/fill; sleep 600");
        var under = Writer("under", "head -c 102400 /dev/zero > /scratch/fill; sleep 1; echo fine");
        foreach (var pod in new[] { over, under })
        {
            pod.Spec.Volumes = [new V1Volume { Name = "scratch", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity("1Mi") } }];
            pod.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "scratch", MountPath = "/scratch" }];
            await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        }

        var evicted = await EvictedAsync(ns, "over");
        Assert.Equal("Usage of EmptyDir volume \"scratch\" exceeds the limit \"1Mi\". ", evicted.Status.Message);
        var fine = await fx.WaitForPodAsync(ns, "under", ClusterFixture.Done, 60);
        Assert.Equal("Succeeded", fine.Status.Phase);
    }

    [Fact]
    public async Task The_pods_total_is_the_sum_of_its_containers_limits_and_counts_its_disk_empty_dirs()
    {
        var ns = await fx.NamespaceAsync("evict-pod");
        var pod = Writer("total", "head -c 2621440 /dev/zero > /shared/fill; sleep 600", "1Mi");
        var second = Writer("x", "sleep 600", "1Mi").Spec.Containers[0];
        second.Name = "second";
        pod.Spec.Containers.Add(second);
        pod.Spec.Volumes = [new V1Volume { Name = "shared", EmptyDir = new V1EmptyDirVolumeSource() }];
        pod.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "shared", MountPath = "/shared" }];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        var done = await EvictedAsync(ns, "total");

        Assert.Equal("Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. ", done.Status.Message);
        Assert.All(done.Status.ContainerStatuses, s => Assert.NotNull(s.State.Terminated));
    }
}
