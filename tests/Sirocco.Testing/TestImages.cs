namespace Sirocco.Testing;

/// <summary>
/// Builds small test images with <c>umoci</c> from Debian's <c>busybox-static</c>, as OCI layouts: several layers (one
/// deletes a file of the one below, so the image carries a whiteout) and a config with Entrypoint, Cmd, Env, WorkingDir
/// and User.
/// </summary>
public static class TestImages
{
    /// <summary>What the image built by <see cref="BuildAsync"/> holds.</summary>
    public const string Greeting = "hello-from-image";

    /// <summary>
    /// Builds the image in <paramref name="dir"/> and returns its skopeo source (<c>oci:DIR/layout:app</c>). Layer 1:
    /// busybox at /bin/busybox with /bin/sh, /etc/passwd (root, app = 1000:1000 with home /home/app), /data/kept.txt
    /// ("base") and /data/gone.txt; layer 2: /data/second.txt ("second") and gone.txt deleted. Config: Entrypoint
    /// ["/bin/sh", "-c"], Cmd ["echo default-cmd; id -u; pwd; echo $GREETING"], Env GREETING=<see cref="Greeting"/>,
    /// WorkingDir /data, User app. A <paramref name="marker"/> goes to /data/marker.txt in layer 2, so that images built
    /// with different markers share no unpacked root; <paramref name="padding"/> is copied to /data/padding.bin.
    /// </summary>
    public static async Task<string> BuildAsync(string dir, string? padding = null, string? marker = null)
    {
        Directory.CreateDirectory(dir);
        var layout = Path.Combine(dir, "layout");
        var image = layout + ":app";
        await Umoci("init", "--layout", layout);
        await Umoci("new", "--image", image);
        var bundle = Path.Combine(dir, "bundle1");
        await Umoci(Unpack("--image", image, bundle));
        var root = Path.Combine(bundle, "rootfs");
        foreach (var sub in new[] { "bin", "etc", "data", "home/app", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(root, sub));
        }

        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        foreach (var applet in new[] { "sh", "echo", "cat", "head", "id", "ls", "pwd", "sleep", "env", "touch", "rm", "mkdir", "test" })
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        }

        await File.WriteAllTextAsync(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
        await File.WriteAllTextAsync(Path.Combine(root, "etc", "group"), "root:x:0:\napp:x:1000:\n");
        await File.WriteAllTextAsync(Path.Combine(root, "data", "kept.txt"), "base\n");
        await File.WriteAllTextAsync(Path.Combine(root, "data", "gone.txt"), "doomed\n");
        if (padding is not null)
        {
            File.Copy(padding, Path.Combine(root, "data", "padding.bin"));
        }

        await Umoci("repack", "--image", image, bundle);
        Directory.Delete(bundle, recursive: true);

        bundle = Path.Combine(dir, "bundle2");
        await Umoci(Unpack("--image", image, bundle));
        root = Path.Combine(bundle, "rootfs");
        File.Delete(Path.Combine(root, "data", "gone.txt"));
        await File.WriteAllTextAsync(Path.Combine(root, "data", "second.txt"), "second\n");
        if (marker is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(root, "data", "marker.txt"), marker + "\n");
        }

        await Umoci("repack", "--image", image, bundle);
        Directory.Delete(bundle, recursive: true);

        await Umoci(
            "config", "--image", image,
            "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
            "--config.cmd", "echo default-cmd; id -u; pwd; echo $GREETING",
            "--config.env", "GREETING=" + Greeting,
            "--config.workingdir", "/data",
            "--config.user", "app");
        await Umoci("gc", "--layout", layout);
        return "oci:" + image;
    }

    private static string[] Unpack(params string[] args) =>
        Environment.IsPrivilegedProcess ? ["unpack", .. args] : ["unpack", "--rootless", .. args];

    private static async Task Umoci(params string[] args)
    {
        var (code, output, error) = await TestRegistry.RunAsync("/usr/bin/umoci", args);
        if (code != 0)
        {
            throw new InvalidOperationException($"umoci {string.Join(' ', args)} failed: {output}{error}");
        }
    }
}
