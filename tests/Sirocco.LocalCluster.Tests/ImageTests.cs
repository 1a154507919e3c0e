using System.Text;
using k8s;
using k8s.Models;
using Sirocco.Testing;

namespace Sirocco.LocalCluster.Tests;

/// <summary>Containers run in their real images, pulled from a real registry or loaded from a tarball.</summary>
[Trait("Category", "Images")]
public sealed class ImageTests(ImageFixture fx) : IClassFixture<ImageFixture>
{
    [Fact]
    public async Task A_container_without_command_runs_its_images_entrypoint_cmd_env_workdir_and_user()
    {
        var ns = await fx.NamespaceAsync("img");
        await fx.Open.PushAsync(fx.Source, "test/entry:1");
        var image = $"{fx.Open.Host}/test/entry:1";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("plain", image), ns);
        var pod = await fx.WaitForPodAsync(ns, "plain", ImageFixture.Done);

        Assert.Equal("Succeeded", pod.Status.Phase);
        Assert.Equal(["default-cmd", "1000", "/data", TestImages.Greeting], (await fx.LogAsync(ns, "plain")).TrimEnd().Split('\n'));
        var status = pod.Status.ContainerStatuses.Single();
        Assert.StartsWith($"{fx.Open.Host}/test/entry@sha256:", status.ImageID, StringComparison.Ordinal);
        var events = await fx.EventsAsync(ns, "plain");
        Assert.Contains(events, e => e == $"Normal Pulling: Pulling image \"{image}\"");
        Assert.Contains(events, e => e.StartsWith($"Normal Pulled: Successfully pulled image \"{image}\" in ", StringComparison.Ordinal) && e.Contains("Image size: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Command_args_env_and_securityContext_combine_with_the_image_by_Kubernetes_rules()
    {
        var ns = await fx.NamespaceAsync("img");
        var image = $"{fx.Open.Host}/test/app:1";

        // command replaces Entrypoint and Cmd; the whiteout of layer 2 hides gone.txt; runAsUser beats the image's User.
        var command = ImageFixture.Pod("command", image, ["/bin/sh", "-c", "cat kept.txt second.txt; ls /data; id -u; echo $GREETING $EXTRA $HOME"]);
        command.Spec.Containers[0].Env = [new V1EnvVar { Name = "EXTRA", Value = "from-pod" }, new V1EnvVar { Name = "GREETING", Value = "overridden" }];
        command.Spec.Containers[0].SecurityContext = new V1SecurityContext { RunAsUser = 0 };
        await fx.Client.CoreV1.CreateNamespacedPodAsync(command, ns);

        // args alone replace Cmd and keep the Entrypoint (/bin/sh -c); workingDir replaces the image's.
        var args = ImageFixture.Pod("args", image, args: ["pwd; id -u; echo $HOME"]);
        args.Spec.Containers[0].WorkingDir = "/made/here";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(args, ns);

        await fx.WaitForPodAsync(ns, "command", ImageFixture.Done);
        await fx.WaitForPodAsync(ns, "args", ImageFixture.Done);
        Assert.Equal(["base", "second", "kept.txt", "second.txt", "0", "overridden from-pod /root"], (await fx.LogAsync(ns, "command")).TrimEnd().Split('\n'));
        Assert.Equal(["/made/here", "1000", "/home/app"], (await fx.LogAsync(ns, "args")).TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task Volumes_mount_inside_the_image_even_under_its_etc_and_limits_hold()
    {
        var ns = await fx.NamespaceAsync("img");
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "app-config" }, Data = new Dictionary<string, string> { ["app.ini"] = "mode=image" } }, ns);
        var pod = ImageFixture.Pod("volumes", $"{fx.Open.Host}/test/app:1", ["/bin/sh", "-c", "cat /etc/app/app.ini; echo; echo shared > /scratch/x; cat /scratch/x; cat /etc/passwd | head -1"]);
        pod.Spec.Volumes = [new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = "app-config" } }, new V1Volume { Name = "scratch", EmptyDir = new V1EmptyDirVolumeSource() }];
        pod.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "config", MountPath = "/etc/app" }, new V1VolumeMount { Name = "scratch", MountPath = "/scratch" }];
        pod.Spec.Containers[0].Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new ResourceQuantity("64Mi") } };
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "volumes", ImageFixture.Done);
        Assert.Equal("Succeeded", done.Status.Phase);

        // The image's own /etc/passwd, not the host's; the config map inside the image's /etc.
        Assert.Equal(["mode=image", "shared", "root:x:0:0:root:/root:/bin/sh"], (await fx.LogAsync(ns, "volumes")).TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task Zstd_layers_are_pulled_and_a_registry_not_listed_as_insecure_is_not_spoken_to_over_HTTP()
    {
        // An image of its own (nothing else unpacks to its root), its layers compressed with zstd.
        var source = await TestImages.BuildAsync(Path.Combine(fx.Work, "zstd-image"), marker: "zstd-layers");
        var (code, output, error) = await TestRegistry.RunAsync(
            "/usr/bin/skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", "--dest-compress-format", "zstd", "--dest-compress",
            source, $"docker://{fx.Open.Host}/test/zstd:1");
        Assert.True(code == 0, output + error);
        var (_, manifest, _) = await TestRegistry.RunAsync("/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{fx.Open.Host}/test/zstd:1");
        Assert.Contains("zstd", manifest, StringComparison.Ordinal);
        var ns = await fx.NamespaceAsync("img");
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("zstd", $"{fx.Open.Host}/test/zstd:1", ["/bin/sh", "-c", "cat /data/marker.txt; ls /data"]), ns);
        await fx.WaitForPodAsync(ns, "zstd", ImageFixture.Done);
        Assert.Equal("zstd-layers\nkept.txt\nmarker.txt\nsecond.txt", (await fx.LogAsync(ns, "zstd")).Trim());

        // The same HTTP registry under a name not listed in insecure_registries: HTTPS only, so the pull fails.
        var unlisted = "localhost:" + fx.Open.Host.Split(':')[1];
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("unlisted", $"{unlisted}/test/app:1", ["/bin/sh"]), ns);
        var failed = await fx.WaitForPodAsync(ns, "unlisted", p => ImageFixture.Waiting(p) == "ImagePullBackOff");
        Assert.Contains($"cannot reach the registry {unlisted}", failed.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        var (describeCode, describe, _) = await ClusterFixtureRun(["describe", "pod", "unlisted", "-n", ns]);
        Assert.Equal(0, describeCode);
        Assert.Contains("Back-off pulling image", describe, StringComparison.Ordinal);
        Assert.Contains("ErrImagePull", describe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_enters_the_container_in_its_image_as_its_user()
    {
        var ns = await fx.NamespaceAsync("img");
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("running", $"{fx.Open.Host}/test/app:1", ["/bin/sh", "-c", "echo ready > /tmp/ready; sleep 60"]), ns);
        await fx.WaitForPodAsync(ns, "running", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Running is not null);
        var (code, output, error) = await ClusterFixtureRun(["exec", "running", "-n", ns, "--", "/bin/sh", "-c", "id -u; cat /data/kept.txt; head -1 /etc/passwd; cat /tmp/ready || true"]);
        Assert.True(code == 0, output + error);
        Assert.StartsWith("1000\nbase\nroot:x:0:0:root:/root:/bin/sh\n", output, StringComparison.Ordinal);
        await fx.Client.CoreV1.DeleteNamespacedPodAsync("running", ns, gracePeriodSeconds: 0);
    }

    private const UnixFileMode Mode755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private Task<(int Code, string Out, string Err)> ClusterFixtureRun(string[] args) =>
        TestRegistry.RunAsync("/usr/bin/kubectl", ["--kubeconfig", fx.Cluster.KubeconfigPath, .. args]);

    [Fact]
    public async Task Each_container_writes_to_its_own_layer_and_the_image_stays_as_pulled()
    {
        var ns = await fx.NamespaceAsync("img");
        var image = $"{fx.Open.Host}/test/app:1";
        var writer = ImageFixture.Pod("writer", image, ["/bin/sh", "-c", "echo changed > /data/kept.txt && rm /data/second.txt && mkdir /etc/new && cat /data/kept.txt"]);
        writer.Spec.Containers[0].SecurityContext = new V1SecurityContext { RunAsUser = 0 };
        await fx.Client.CoreV1.CreateNamespacedPodAsync(writer, ns);
        await fx.WaitForPodAsync(ns, "writer", ImageFixture.Done);
        Assert.Equal("changed", (await fx.LogAsync(ns, "writer")).Trim());

        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("reader", image, ["/bin/sh", "-c", "cat /data/kept.txt /data/second.txt; ls /etc"]), ns);
        var reader = await fx.WaitForPodAsync(ns, "reader", ImageFixture.Done);
        Assert.Equal("Succeeded", reader.Status.Phase);
        var log = await fx.LogAsync(ns, "reader");
        Assert.StartsWith("base\nsecond\n", log, StringComparison.Ordinal);
        Assert.DoesNotContain("new", log.Split('\n'));
        Assert.Contains(await fx.EventsAsync(ns, "reader"), e => e == $"Normal Pulled: Container image \"{image}\" already present on machine");
    }

    [Fact]
    public async Task A_private_TLS_registry_is_pulled_with_the_pods_image_pull_secret()
    {
        var ns = await fx.NamespaceAsync("img");
        var image = $"{fx.Private.Host}/team/app:1";
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(DockerConfig("regcred", fx.Private.Host, ImageFixture.User, ImageFixture.Password), ns);
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(DockerConfig("wrong", fx.Private.Host, ImageFixture.User, "not-the-password"), ns);

        var good = ImageFixture.Pod("good", image, ["/bin/sh", "-c", "echo pulled-with-secret"]);
        good.Spec.ImagePullSecrets = [new V1LocalObjectReference { Name = "regcred" }];
        await fx.Client.CoreV1.CreateNamespacedPodAsync(good, ns);
        await fx.WaitForPodAsync(ns, "good", ImageFixture.Done);

        // The image is present now: only pods that must pull (Always) meet the registry's refusal, as on a real node.
        var wrong = ImageFixture.Pod("wrong", image, ["/bin/sh", "-c", "echo never"]);
        wrong.Spec.ImagePullSecrets = [new V1LocalObjectReference { Name = "wrong" }];
        wrong.Spec.Containers[0].ImagePullPolicy = "Always";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(wrong, ns);
        var anonymousPod = ImageFixture.Pod("anonymous", image, ["/bin/sh", "-c", "echo never"]);
        anonymousPod.Spec.Containers[0].ImagePullPolicy = "Always";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(anonymousPod, ns);

        Assert.Equal("pulled-with-secret", (await fx.LogAsync(ns, "good")).Trim());

        var refused = await fx.WaitForPodAsync(ns, "wrong", p => ImageFixture.Waiting(p) == "ImagePullBackOff");
        Assert.Contains("unauthorized", refused.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        Assert.Contains("\"puller\"", refused.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", KubernetesJson.Serialize(refused.Status), StringComparison.Ordinal);
        var anonymous = await fx.WaitForPodAsync(ns, "anonymous", p => ImageFixture.Waiting(p) == "ImagePullBackOff");
        Assert.Contains("no image pull secret", anonymous.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        var events = await fx.EventsAsync(ns, "wrong");
        Assert.Contains(events, e => e.StartsWith($"Warning Failed: Failed to pull image \"{image}\": ", StringComparison.Ordinal));
        Assert.Contains("Warning Failed: Error: ErrImagePull", events);
        Assert.Contains($"Normal BackOff: Back-off pulling image \"{image}\"", events);
        Assert.Contains("Warning Failed: Error: ImagePullBackOff", events);
    }

    [Fact]
    public async Task A_registry_with_token_auth_is_pulled_with_a_bearer_token_from_its_realm()
    {
        var ns = await fx.NamespaceAsync("img");
        var image = $"{fx.Token.Host}/hub/app:1";
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(DockerConfig("hubcred", fx.Token.Host, ImageFixture.User, ImageFixture.Password), ns);
        var before = fx.Token.Tokens!.Issued;
        var pod = ImageFixture.Pod("bearer", image, ["/bin/sh", "-c", "cat /data/second.txt"]);
        pod.Spec.ImagePullSecrets = [new V1LocalObjectReference { Name = "hubcred" }];
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var anonymous = ImageFixture.Pod("no-token", image, ["/bin/sh", "-c", "echo never"]);
        anonymous.Spec.Containers[0].ImagePullPolicy = "Always";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(anonymous, ns);

        await fx.WaitForPodAsync(ns, "bearer", ImageFixture.Done);
        Assert.Equal("second", (await fx.LogAsync(ns, "bearer")).Trim());
        Assert.True(fx.Token.Tokens.Issued > before);
        var refused = await fx.WaitForPodAsync(ns, "no-token", p => ImageFixture.Waiting(p) == "ImagePullBackOff");
        Assert.Contains("token service", refused.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_accounts_pull_secret_is_used_too()
    {
        var ns = await fx.NamespaceAsync("img");
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(DockerConfig("sa-cred", "https://" + fx.Private.Host + "/v2/", ImageFixture.User, ImageFixture.Password), ns);
        await fx.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "puller" }, ImagePullSecrets = [new V1LocalObjectReference { Name = "sa-cred" }] }, ns);
        var pod = ImageFixture.Pod("via-sa", $"{fx.Private.Host}/team/app:1", ["/bin/sh", "-c", "echo via-service-account"]);
        pod.Spec.ServiceAccountName = "puller";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await fx.WaitForPodAsync(ns, "via-sa", ImageFixture.Done);
        Assert.Equal("via-service-account", (await fx.LogAsync(ns, "via-sa")).Trim());
    }

    [Fact]
    public async Task A_missing_tag_fails_with_ErrImagePull_and_Never_with_ErrImageNeverPull()
    {
        var ns = await fx.NamespaceAsync("img");
        var missing = $"{fx.Open.Host}/test/app:no-such-tag";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("missing", missing, ["/bin/sh"]), ns);
        var never = ImageFixture.Pod("never", $"{fx.Open.Host}/test/never-pushed:1", ["/bin/sh"]);
        never.Spec.Containers[0].ImagePullPolicy = "Never";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(never, ns);

        var pulled = await fx.WaitForPodAsync(ns, "missing", p => ImageFixture.Waiting(p) is "ErrImagePull" or "ImagePullBackOff");
        Assert.Contains("not found", pulled.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        Assert.Equal("Pending", pulled.Status.Phase);
        var neverPod = await fx.WaitForPodAsync(ns, "never", p => ImageFixture.Waiting(p) == "ErrImageNeverPull");
        Assert.Equal($"Container image \"{fx.Open.Host}/test/never-pushed:1\" is not present with pull policy of Never", neverPod.Status.ContainerStatuses[0].State.Waiting.Message);
        Assert.Contains(await fx.EventsAsync(ns, "never"), e => e.StartsWith("Warning ErrImageNeverPull: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_registry_that_stops_mid_pull_fails_the_pull_keeps_no_partial_blob_and_the_next_pull_succeeds()
    {
        var dir = Path.Combine(fx.Work, "big");
        var padding = Path.Combine(fx.Work, "padding.bin");
        await File.WriteAllBytesAsync(padding, System.Security.Cryptography.RandomNumberGenerator.GetBytes(512 * 1024));
        await fx.Open.PushAsync(await TestImages.BuildAsync(dir, padding), "test/big:1");

        var ns = await fx.NamespaceAsync("img");
        fx.Proxy.Cut = true;
        var image = $"{fx.Proxy.Host}/test/big:1";
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("cut", image, ["/bin/sh", "-c", "ls /data"]), ns);
        var failed = await fx.WaitForPodAsync(ns, "cut", p => ImageFixture.Waiting(p) == "ImagePullBackOff");
        Assert.True(fx.Proxy.Cuts > 0);
        Assert.Contains("blob sha256:", failed.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        var tmp = Path.Combine(fx.Home, "cluster", "local-cluster", "images", "tmp");
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp));

        // The kubelet tries again after its back-off (10 s) and gets the whole image.
        fx.Proxy.Cut = false;
        await fx.WaitForPodAsync(ns, "cut", ImageFixture.Done, seconds: 60);
        Assert.Contains("padding.bin", await fx.LogAsync(ns, "cut"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Images_load_from_docker_and_oci_archives_with_no_registry_and_are_collected_when_removed()
    {
        var images = LocalClusterImages.Open(Path.Combine(fx.Home, "cluster"));
        var docker = Path.Combine(fx.Work, "app-docker.tar");
        var oci = Path.Combine(fx.Work, "app-oci.tar");

        // Two images of their own, so each archive's layers are unpacked from that archive.
        await Skopeo(await TestImages.BuildAsync(Path.Combine(fx.Work, "docker-image"), marker: "from-docker-archive"), $"docker-archive:{docker}:example.com/loaded/docker:1");
        await Skopeo(await TestImages.BuildAsync(Path.Combine(fx.Work, "oci-image"), marker: "from-oci-archive"), $"oci-archive:{oci}:2");
        var empty = images.DiskBytes();

        Assert.Equal(["example.com/loaded/docker:1"], await images.LoadAsync(docker));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => images.LoadAsync(oci));
        Assert.Contains("only by its tag \"2\"", error.Message, StringComparison.Ordinal);
        Assert.Equal(["example.com/loaded/oci:2"], await images.LoadAsync(oci, "example.com/loaded/oci"));
        Assert.Contains(images.List(), i => i.Name == "example.com/loaded/oci:2" && i.Size > 500_000);

        // example.com cannot be reached from here: the pods run because the images are present.
        var ns = await fx.NamespaceAsync("img");
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("docker", "example.com/loaded/docker:1", ["/bin/sh", "-c", "cat /data/marker.txt /data/second.txt"]), ns);
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("oci", "example.com/loaded/oci:2", ["/bin/sh", "-c", "cat /data/marker.txt /data/kept.txt"]), ns);
        await fx.WaitForPodAsync(ns, "docker", ImageFixture.Done);
        await fx.WaitForPodAsync(ns, "oci", ImageFixture.Done);
        Assert.Equal("from-docker-archive\nsecond", (await fx.LogAsync(ns, "docker")).Trim());
        Assert.Equal("from-oci-archive\nbase", (await fx.LogAsync(ns, "oci")).Trim());

        // Removing one name collects its blobs and root; the other image still runs.
        var both = images.DiskBytes();
        Assert.True(images.Remove("example.com/loaded/docker:1"));
        Assert.False(images.Remove("example.com/loaded/docker:1"));
        Assert.DoesNotContain(images.List(), i => i.Name == "example.com/loaded/docker:1");
        var one = images.DiskBytes();
        Assert.True(one < both - 500_000, $"{both} bytes before removing, {one} after");
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("oci-again", "example.com/loaded/oci:2", ["/bin/sh", "-c", "cat /data/marker.txt"]), ns);
        await fx.WaitForPodAsync(ns, "oci-again", ImageFixture.Done);
        Assert.Equal("from-oci-archive", (await fx.LogAsync(ns, "oci-again")).Trim());
    }

    [Fact]
    public async Task Removing_an_image_a_container_runs_keeps_its_root_until_the_container_ends()
    {
        var images = LocalClusterImages.Open(Path.Combine(fx.Home, "cluster"));
        var archive = Path.Combine(fx.Work, "leased.tar");
        await Skopeo(await TestImages.BuildAsync(Path.Combine(fx.Work, "leased-image"), marker: "still-here"), $"docker-archive:{archive}:example.com/leased:1");
        var before = images.DiskBytes();
        await images.LoadAsync(archive);
        var ns = await fx.NamespaceAsync("img");
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ImageFixture.Pod("leased", "example.com/leased:1", ["/bin/sh", "-c", "sleep 60"]), ns);
        await fx.WaitForPodAsync(ns, "leased", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Running is not null);

        // The name goes; the root stays while the container runs in it.
        Assert.True(images.Remove("example.com/leased:1"));
        images.Prune();
        var (code, output, error) = await ClusterFixtureRun(["exec", "leased", "-n", ns, "--", "/bin/cat", "/data/marker.txt"]);
        Assert.True(code == 0, output + error);
        Assert.Equal("still-here", output.Trim());
        var during = images.DiskBytes();
        Assert.True(during > before + 500_000, $"{during} bytes while leased, {before} before loading");

        // Once the kubelet has ended the container (shortly after the object goes), pruning frees the root. Nothing
        // announces that moment, so the test looks again for up to 30 s.
        await fx.Client.CoreV1.DeleteNamespacedPodAsync("leased", ns, gracePeriodSeconds: 0);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        long after;
        do
        {
            await Task.Delay(200);
            images.Prune();
            after = images.DiskBytes();
        }
        while (after >= during - 500_000 && DateTime.UtcNow < deadline);
        Assert.True(after < during - 500_000, $"{after} bytes after the container ended, {during} while it ran");
    }

    [Fact]
    public async Task A_hostile_image_cannot_write_outside_its_root_nor_keep_set_user_id_bits()
    {
        var victim = Path.Combine(fx.Work, "victim-" + Guid.NewGuid().ToString("n")[..6]);
        Directory.CreateDirectory(victim);
        var layer = HostileArchives.Tar(
        [
            HostileArchives.Link("escape", victim),
            HostileArchives.File("escape/pwned", "x"),
            HostileArchives.File("up/../../pwned-too", "x"),
            HostileArchives.File(".wh..", ""),
            HostileArchives.File("sub/.wh...", ""),
            HostileArchives.File("suid", "#!/bin/sh\n", Mode755 | UnixFileMode.SetUser),
            HostileArchives.File("bin/busybox", await File.ReadAllBytesAsync("/bin/busybox"), Mode755),
            HostileArchives.Link("bin/sh", "busybox"),
        ]);
        var archive = Path.Combine(fx.Work, "hostile.tar");
        await File.WriteAllBytesAsync(archive, HostileArchives.Oci(layer, extra: [HostileArchives.Link("blobs/sha256/evil", victim), HostileArchives.File("blobs/sha256/evil/pwned", "x")]));

        var images = LocalClusterImages.Open(Path.Combine(fx.Home, "cluster"));
        Assert.Equal(["example.com/hostile:1"], await images.LoadAsync(archive, "example.com/hostile:1"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(victim));
        Assert.False(File.Exists(Path.Combine(fx.Home, "cluster", "local-cluster", "pwned-too")));

        var ns = await fx.NamespaceAsync("img");
        var pod = ImageFixture.Pod("hostile", "example.com/hostile:1", ["/bin/sh", "-c", $"busybox stat -c %A /suid; busybox cat {victim}/pwned"]);
        pod.Spec.Containers[0].SecurityContext = new V1SecurityContext { RunAsUser = 0 };
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await fx.WaitForPodAsync(ns, "hostile", ImageFixture.Done);

        // The link was followed inside the image: the file is there, in the image, and the host folder stays empty.
        Assert.Equal("-rwxr-xr-x\nx", (await fx.LogAsync(ns, "hostile")).Trim());
        Assert.Empty(Directory.EnumerateFileSystemEntries(victim));

        // A hard link to a file the image does not have (the host's /etc/passwd through a link) is refused.
        var linked = Path.Combine(fx.Work, "hardlink.tar");
        await File.WriteAllBytesAsync(linked, HostileArchives.Oci(HostileArchives.Tar([HostileArchives.Link("hostetc", "/etc"), HostileArchives.HardLink("passwd", "hostetc/passwd")])));
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => images.LoadAsync(linked, "example.com/hardlink:1"));
        Assert.Contains("links to hostetc/passwd", refused.Message, StringComparison.Ordinal);

        // A layer that is not what the config's diff_ids say is refused too (it would take another image's root).
        var lying = Path.Combine(fx.Work, "lying.tar");
        await File.WriteAllBytesAsync(lying, HostileArchives.Oci(HostileArchives.Tar([HostileArchives.File("a", "b")]), diffId: "sha256:" + new string('0', 64)));
        var mismatch = await Assert.ThrowsAsync<InvalidDataException>(() => images.LoadAsync(lying, "example.com/lying:1"));
        Assert.Contains("but the image config says", mismatch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_normalise_as_container_runtimes_do()
    {
        Assert.Equal("docker.io/library/busybox:latest", LocalClusterImages.Normalize("busybox"));
        Assert.Equal("docker.io/library/perl:5.34", LocalClusterImages.Normalize("perl:5.34"));
        Assert.Equal("docker.io/bitnami/kubectl:latest", LocalClusterImages.Normalize("bitnami/kubectl"));
        Assert.Equal("gcr.io/google-containers/pause:3.9", LocalClusterImages.Normalize("gcr.io/google-containers/pause:3.9"));
        Assert.Equal("localhost:5000/x:latest", LocalClusterImages.Normalize("localhost:5000/x"));
        Assert.Throws<FormatException>(() => LocalClusterImages.Normalize("Upper/Case"));
        Assert.Throws<FormatException>(() => LocalClusterImages.Normalize("x@sha256:abc"));
    }

    private static V1Secret DockerConfig(string name, string registry, string user, string password)
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        var json = $"{{\"auths\":{{\"{registry}\":{{\"auth\":\"{auth}\"}}}}}}";
        return new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name },
            Type = "kubernetes.io/dockerconfigjson",
            Data = new Dictionary<string, byte[]> { [".dockerconfigjson"] = Encoding.UTF8.GetBytes(json) },
        };
    }

    private static async Task Skopeo(string source, string destination)
    {
        var (code, output, error) = await TestRegistry.RunAsync("/usr/bin/skopeo", "--insecure-policy", "copy", "--quiet", source, destination);
        Assert.True(code == 0, output + error);
    }
}
