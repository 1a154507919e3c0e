using k8s;
using Sirocco.Testing;

namespace Sirocco.LocalCluster.Tests;

/// <summary>
/// Image mode <c>auto</c> (Sirocco's default): an image that can be pulled runs in its image; one that cannot (no
/// registry reachable, as for docker.io on this machine) runs as a host command, and the pod's events say so.
/// </summary>
[Trait("Category", "Images")]
public sealed class AutoImageModeTests : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "sirocco-auto-" + Guid.NewGuid().ToString("n")[..8]);
    private TestRegistry _registry = null!;
    private LocalCluster _cluster = null!;
    private Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _registry = await TestRegistry.StartAsync(Path.Combine(_home, "registry"));
        await _registry.PushAsync(await TestImages.BuildAsync(Path.Combine(_home, "image")), "test/app:1");
        _cluster = await LocalCluster.StartAsync(new LocalClusterOptions
        {
            HomeDirectory = Path.Combine(_home, "cluster"),
            ImageMode = LocalClusterImageMode.Auto,
            InsecureRegistries = [_registry.Host],
            RegistryTimeout = TimeSpan.FromSeconds(5),
        });
        _client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(_cluster.KubeconfigPath));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _cluster.DisposeAsync();
        await _registry.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task Pullable_images_run_in_their_image_and_the_rest_as_host_commands_saying_why()
    {
        await _client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("image", $"{_registry.Host}/test/app:1", ["/bin/sh", "-c", "cat /data/kept.txt; test -e /usr/bin/dotnet || echo no-host-usr"]), "default");
        await _client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("host", "busybox:1.36", ["sh", "-c", "test -d /usr/bin && echo host-usr"]), "default");

        await ClusterFixture.WaitForPodAsync(_client, "default", "image", ImageFixture.Done, 60);
        await ClusterFixture.WaitForPodAsync(_client, "default", "host", ImageFixture.Done, 60);
        await _client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("host-again", "busybox:1.36", ["echo", "again"]), "default");
        await ClusterFixture.WaitForPodAsync(_client, "default", "host-again", ImageFixture.Done, 60);
        Assert.Equal("base\nno-host-usr", (await Log("image")).Trim());
        Assert.Equal("host-usr", (await Log("host")).Trim());
        var events = await _client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: "involvedObject.name=host,reason=Pulled");
        var message = Assert.Single(events.Items).Message;
        Assert.StartsWith("Container image \"busybox:1.36\" could not be pulled (", message, StringComparison.Ordinal);
        Assert.Contains("registry-1.docker.io", message, StringComparison.Ordinal);
        Assert.EndsWith("running host commands instead ([local_cluster] image_mode = auto)", message, StringComparison.Ordinal);

        // The unreachable registry is remembered: the next pod does not try it again.
        var pulling = await _client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: "involvedObject.name=host-again,reason=Pulling");
        Assert.Empty(pulling.Items);
        var again = await _client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: "involvedObject.name=host-again,reason=Pulled");
        var againMessage = Assert.Single(again.Items).Message;
        Assert.StartsWith("Container image \"busybox:1.36\" could not be pulled (cannot reach the registry registry-1.docker.io", againMessage, StringComparison.Ordinal);
        Assert.EndsWith("running host commands instead ([local_cluster] image_mode = auto)", againMessage, StringComparison.Ordinal);
        Assert.Equal("again", (await Log("host-again")).Trim());
    }

    private async Task<string> Log(string pod)
    {
        using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(pod, "default");
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
