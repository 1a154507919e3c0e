using System.Diagnostics;
using System.Globalization;
using k8s;
using k8s.Models;
using Sirocco.LocalCluster;
using Sirocco.Testing;

// The local cluster's image mode, measured (issue 18's targets):
//   1. cold pull and first start of an image of about PADDING_MB (random, so its layer does not compress);
//   2. pods/s of N pods of that already-pulled image against host mode (target: image mode >= 80% of host mode);
//   3. disk taken by the store and the N pods' writable layers (target: < 2x the image).
// Needs docker-registry, umoci, skopeo and busybox-static (Debian).
// Usage: [--pods N] [--padding-mb M] [--image-only | --host-only] (one mode alone, for profiling)
var pods = Arg("--pods", 500);
var paddingMb = Arg("--padding-mb", 50);
var hostOnly = args.Contains("--host-only");
var imageOnly = args.Contains("--image-only");
var work = Directory.CreateTempSubdirectory("sirocco-bench-images-").FullName;
try
{
    var padding = Path.Combine(work, "padding.bin");
    await File.WriteAllBytesAsync(padding, System.Security.Cryptography.RandomNumberGenerator.GetBytes(paddingMb << 20));
    var source = await TestImages.BuildAsync(Path.Combine(work, "image"), padding);
    await using var registry = await TestRegistry.StartAsync(Path.Combine(work, "registry"));
    await registry.PushAsync(source, "bench/app:1");
    var image = $"{registry.Host}/bench/app:1";
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}; {pods} pods; image {image} with {paddingMb} MiB of random data");

    // Image mode: cold pull + first start, then N pods of the pulled image.
    double imageRate;
    long storeBytes, podsBytes, imageSize, rootfsBytes;
    var imageHome = Path.Combine(work, "image-mode");
    await using (var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = imageHome, ImageMode = LocalClusterImageMode.Pull, InsecureRegistries = [registry.Host] }))
    {
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
        var clock = Stopwatch.StartNew();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("cold", image), "default");
        await WaitAllAsync(client, 1, TimeSpan.FromMinutes(5));
        var cold = clock.Elapsed;
        var pulled = (await client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: "involvedObject.name=cold,reason=Pulled")).Items.Single().Message;
        Console.WriteLine($"cold pull and first start: {cold.TotalSeconds:F2} s from create to Succeeded ({pulled})");
        await client.CoreV1.DeleteNamespacedPodAsync("cold", "default", gracePeriodSeconds: 0);

        var images = LocalClusterImages.Open(imageHome);
        imageSize = images.List().Single().Size;
        storeBytes = images.DiskBytes();
        rootfsBytes = Bytes(Path.Combine(imageHome, "local-cluster", "images", "rootfs"));
        imageRate = hostOnly ? 1 : await BurstAsync(client, pods, image, "image");
        podsBytes = Bytes(Path.Combine(imageHome, "local-cluster", "pods"));
    }

    double hostRate;
    await using (var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(work, "host-mode") }))
    {
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
        hostRate = imageOnly ? 1 : await BurstAsync(client, pods, "busybox:1.36", "host");
    }

    Console.WriteLine($"image mode: {imageRate:F1} pods/s; host mode: {hostRate:F1} pods/s; ratio {imageRate / hostRate:P0} (target >= 80%)");
    Console.WriteLine($"image size (config + layers, compressed): {imageSize / 1048576.0:F1} MiB; unpacked root: {rootfsBytes / 1048576.0:F1} MiB");
    Console.WriteLine($"disk: image store {storeBytes / 1048576.0:F1} MiB (blobs + unpacked root), {pods} pods' folders (writable layers, logs) {podsBytes / 1048576.0:F1} MiB; total {(storeBytes + podsBytes) / (double)rootfsBytes:F2}x the unpacked image (target < 2x)");
}
finally
{
    Directory.Delete(work, recursive: true);
}

static V1Pod Pod(string name, string image) => new()
{
    Metadata = new V1ObjectMeta { Name = name },
    Spec = new V1PodSpec { RestartPolicy = "Never", Containers = [new V1Container { Name = "main", Image = image, Command = ["/bin/sh", "-c", "exit 0"] }] },
};

static async Task<double> BurstAsync(Kubernetes client, int count, string image, string prefix)
{
    var (ownBefore, childBefore) = Cpu();
    var clock = Stopwatch.StartNew();
    using var gate = new SemaphoreSlim(32);
    var waiting = WaitAllAsync(client, count, TimeSpan.FromMinutes(10), prefix);
    await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            await client.CoreV1.CreateNamespacedPodAsync(Pod($"{prefix}-{i}", image), "default");
        }
        finally
        {
            gate.Release();
        }
    }));
    await waiting;
    var seconds = clock.Elapsed.TotalSeconds;
    var (ownAfter, childAfter) = Cpu();
    Console.WriteLine($"{prefix} mode: {count} pods created and Succeeded in {seconds:F1} s; CPU: cluster process {ownAfter - ownBefore:F1} s, container processes {childAfter - childBefore:F1} s");
    return count / seconds;
}

static async Task WaitAllAsync(Kubernetes client, int count, TimeSpan limit, string? prefix = null)
{
    using var cts = new CancellationTokenSource(limit);
    var done = new HashSet<string>(StringComparer.Ordinal);
    await foreach (var (_, pod) in client.CoreV1.WatchListNamespacedPodAsync("default", cancellationToken: cts.Token))
    {
        if ((prefix is null || pod.Metadata.Name.StartsWith(prefix + "-", StringComparison.Ordinal)) && pod.Status?.Phase is "Succeeded" or "Failed")
        {
            if (pod.Status.Phase == "Failed")
            {
                throw new InvalidOperationException($"pod {pod.Metadata.Name} failed: {KubernetesJson.Serialize(pod.Status)}");
            }

            done.Add(pod.Metadata.Name);
            if (done.Count == count)
            {
                return;
            }
        }
    }
}

// CPU seconds of this process, and of its ended children (the containers and their sandboxes).
static (double Own, double Children) Cpu()
{
    var fields = File.ReadAllText("/proc/self/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    double Ticks(int i) => double.Parse(fields[i], CultureInfo.InvariantCulture) / 100;
    return (Ticks(11) + Ticks(12), Ticks(13) + Ticks(14));
}

static long Bytes(string dir) => Directory.Exists(dir) ? Walk(new DirectoryInfo(dir)) : 0;

// File sizes under a folder, links not followed.
static long Walk(DirectoryInfo dir)
{
    long total = 0;
    foreach (var entry in dir.EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true }))
    {
        total += entry.LinkTarget is not null ? 0 : entry switch
        {
            FileInfo file => file.Length,
            DirectoryInfo sub => Walk(sub),
            _ => 0,
        };
    }

    return total;
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
