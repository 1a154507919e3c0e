using System.Formats.Tar;
using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Images;

/// <summary>
/// Loads images from a tarball into the store, as <c>kind load image-archive</c> does: a docker-archive
/// (<c>docker save</c>, <c>skopeo copy … docker-archive:</c>) or an oci-archive (an OCI image layout in a tar), plain or
/// gzip-compressed. Every blob is checked against its digest.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class ImageArchive
{
    private const string NameAnnotation = "io.containerd.image.name";
    private const string RefAnnotation = "org.opencontainers.image.ref.name";

    /// <summary>
    /// Loads every image of the archive; returns their names. <paramref name="name"/> names an image the archive names
    /// only by tag, or not at all.
    /// </summary>
    public static async Task<IReadOnlyList<string>> LoadAsync(ImageStore store, string archive, string? name, CancellationToken token)
    {
        if (!File.Exists(archive))
        {
            throw new FileNotFoundException($"no such image archive: {archive}", archive);
        }

        var dir = Path.Combine(store.Directory, "tmp", "load-" + Guid.NewGuid().ToString("N"));
        using var pending = store.Pending();
        Directory.CreateDirectory(dir);
        try
        {
            Dictionary<string, string> links;
            await using (var file = File.OpenRead(archive))
            {
                links = Extract(LayerUnpacker.Decompress(file), dir, archive);
            }

            if (File.Exists(Path.Combine(dir, "index.json")) && File.Exists(Path.Combine(dir, "oci-layout")))
            {
                return await LoadOciAsync(store, dir, pending, archive, name, token).ConfigureAwait(false);
            }

            if (File.Exists(Path.Combine(dir, "manifest.json")))
            {
                return await LoadDockerAsync(store, dir, links, pending, archive, name, token).ConfigureAwait(false);
            }

            throw new InvalidDataException($"{archive}: neither a docker-archive (no manifest.json) nor an oci-archive (no index.json and oci-layout)");
        }
        finally
        {
            ImageStore.DeleteTree(dir);
        }
    }

    /// <summary>
    /// Writes the archive's regular files under <paramref name="dir"/>; links are never made on disk (a link followed by
    /// a file through it could otherwise write anywhere), only remembered, to find an older docker-archive's
    /// ID/layer.tar, which links to the layer file.
    /// </summary>
    private static Dictionary<string, string> Extract(Stream stream, string dir, string archive)
    {
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        using var tar = new TarReader(stream);
        while (tar.GetNextEntry() is { } entry)
        {
            var parts = RootPath.Split(entry.Name).ToList();
            if (parts.Count == 0 || parts.Contains(".."))
            {
                continue;
            }

            var relative = string.Join('/', parts);
            if (entry.EntryType is TarEntryType.SymbolicLink or TarEntryType.HardLink)
            {
                links[relative] = entry.EntryType == TarEntryType.HardLink ? "/" + entry.LinkName : entry.LinkName;
                continue;
            }

            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            {
                continue;
            }

            var target = Path.Combine(dir, Path.Combine([.. parts]));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            try
            {
                entry.ExtractToFile(target, overwrite: true);
            }
            catch (IOException e)
            {
                throw new IOException($"{archive}: cannot extract {entry.Name}: {e.Message}", e);
            }
        }

        return links;
    }

    private static async Task<IReadOnlyList<string>> LoadOciAsync(ImageStore store, string dir, ImageStore.PendingBlobs pending, string archive, string? name, CancellationToken token)
    {
        var index = JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(dir, "index.json"), token).ConfigureAwait(false))!;
        var entries = index["manifests"]?.AsArray() ?? [];
        if (entries.Count == 0)
        {
            throw new InvalidDataException($"{archive}: the OCI index lists no image");
        }

        var loaded = new List<string>();
        foreach (var entry in entries)
        {
            var annotations = entry?["annotations"];
            var written = annotations?[NameAnnotation]?.GetValue<string>() ?? annotations?[RefAnnotation]?.GetValue<string>();
            var imageName = NameFor(written, name, entries.Count, archive);
            var digest = entry!["digest"]!.GetValue<string>();
            var manifest = await BlobJsonAsync(store, dir, pending, digest, archive, token).ConfigureAwait(false);
            if (manifest["manifests"] is JsonArray platforms && manifest["layers"] is null)
            {
                var arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";
                digest = platforms.FirstOrDefault(m => m?["platform"]?["os"]?.GetValue<string>() == "linux" && m?["platform"]?["architecture"]?.GetValue<string>() == arch)?["digest"]?.GetValue<string>()
                    ?? throw new InvalidDataException($"{archive}: the image index of {imageName} has no linux/{arch} manifest");
                manifest = await BlobJsonAsync(store, dir, pending, digest, archive, token).ConfigureAwait(false);
            }

            var config = manifest["config"]?["digest"]?.GetValue<string>() ?? throw new InvalidDataException($"{archive}: manifest {digest} has no config");
            var layers = (manifest["layers"]?.AsArray() ?? []).Select(l => l!["digest"]!.GetValue<string>()).ToList();
            long size = manifest["config"]?["size"]?.GetValue<long>() ?? 0;
            foreach (var blob in layers.Prepend(config))
            {
                await CopyBlobAsync(store, dir, pending, blob, archive, token).ConfigureAwait(false);
            }

            size += (manifest["layers"]?.AsArray() ?? []).Sum(l => l?["size"]?.GetValue<long>() ?? 0);
            loaded.Add(Save(store, imageName, digest, config, layers, size));
        }

        return loaded;
    }

    private static async Task<IReadOnlyList<string>> LoadDockerAsync(ImageStore store, string dir, Dictionary<string, string> links, ImageStore.PendingBlobs pending, string archive, string? name, CancellationToken token)
    {
        var images = JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(dir, "manifest.json"), token).ConfigureAwait(false))?.AsArray()
            ?? throw new InvalidDataException($"{archive}: manifest.json is not a list");
        var loaded = new List<string>();
        foreach (var image in images)
        {
            var configBytes = await File.ReadAllBytesAsync(Member(dir, links, image?["Config"]?.GetValue<string>(), archive), token).ConfigureAwait(false);
            var config = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(configBytes));
            pending.Add(config);
            store.PutBlob(configBytes);
            var layers = new List<(string Digest, long Size)>();
            foreach (var layer in image?["Layers"]?.AsArray() ?? [])
            {
                var file = Member(dir, links, layer?.GetValue<string>(), archive);
                string digest;
                await using (var hashed = File.OpenRead(file))
                {
                    digest = "sha256:" + Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(hashed, token).ConfigureAwait(false));
                }

                pending.Add(digest);
                await using var stream = File.OpenRead(file);
                layers.Add(await store.PutBlobAsync(stream, digest, null, token).ConfigureAwait(false));
            }

            // A docker-archive has no distribution manifest: write the one a registry would serve.
            var manifest = new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json",
                ["config"] = new JsonObject { ["mediaType"] = "application/vnd.docker.container.image.v1+json", ["size"] = configBytes.Length, ["digest"] = config },
                ["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)new JsonObject { ["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar", ["size"] = l.Size, ["digest"] = l.Digest })]),
            };
            var manifestBytes = System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
            pending.Add("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(manifestBytes)));
            var manifestDigest = store.PutBlob(manifestBytes);
            var tags = (image?["RepoTags"]?.AsArray() ?? []).Select(t => t?.GetValue<string>()).OfType<string>().ToList();
            var size = configBytes.Length + layers.Sum(l => l.Size);
            if (tags.Count == 0)
            {
                tags.Add(NameFor(null, name, images.Count, archive));
            }
            else if (name is not null && images.Count == 1)
            {
                tags = [name];
            }

            foreach (var tag in tags)
            {
                loaded.Add(Save(store, tag, manifestDigest, config, [.. layers.Select(l => l.Digest)], size));
            }
        }

        return loaded;
    }

    private static string Save(ImageStore store, string imageName, string manifest, string config, List<string> layers, long size)
    {
        var reference = ImageReference.Parse(imageName);
        var configJson = store.ReadJsonBlob(config);
        store.Save(new ImageRecord
        {
            Name = reference.ToString(),
            ManifestDigest = manifest,
            ConfigDigest = config,
            Layers = layers,
            DiffIds = [.. (configJson?["rootfs"]?["diff_ids"] as JsonArray ?? []).Select(d => d!.GetValue<string>())],
            Size = size,
            Config = ImageConfig.Parse(configJson),
            Stored = DateTimeOffset.UtcNow,
        });
        return reference.ToString();
    }

    private static string NameFor(string? written, string? given, int count, string archive)
    {
        if (given is not null && count == 1)
        {
            // A bare tag in the archive completes a name given without one.
            return written is { Length: > 0 } tag && !tag.Contains('/', StringComparison.Ordinal) && !tag.Contains(':', StringComparison.Ordinal)
                && !given[(given.LastIndexOf('/') + 1)..].Contains(':', StringComparison.Ordinal) ? $"{given}:{tag}" : given;
        }

        if (written is { Length: > 0 } && (written.Contains('/', StringComparison.Ordinal) || written.Contains(':', StringComparison.Ordinal)))
        {
            return written;
        }

        throw new InvalidDataException(written is null
            ? $"{archive}: an image in the archive has no name; give one with --name"
            : $"{archive}: the archive names an image only by its tag \"{written}\"; give its name with --name");
    }

    private static string Member(string dir, Dictionary<string, string> links, string? relative, string archive)
    {
        if (relative is null || RootPath.Split(relative).Contains(".."))
        {
            throw new InvalidDataException($"{archive}: manifest.json names a missing or invalid file \"{relative}\"");
        }

        // Follow the archive's own links (a few at most), each resolved inside the archive.
        var current = string.Join('/', RootPath.Split(relative));
        for (var hops = 0; hops < 8 && links.TryGetValue(current, out var target); hops++)
        {
            var parts = new List<string>();
            var from = target.StartsWith('/') ? [] : RootPath.Split(current).SkipLast(1);
            foreach (var part in from.Concat(RootPath.Split(target)))
            {
                if (part == "..")
                {
                    if (parts.Count > 0)
                    {
                        parts.RemoveAt(parts.Count - 1);
                    }
                }
                else
                {
                    parts.Add(part);
                }
            }

            current = string.Join('/', parts);
        }

        var path = current.Length == 0 ? "" : Path.Combine(dir, current);
        return File.Exists(path) ? path : throw new InvalidDataException($"{archive}: manifest.json names {relative}, which the archive does not hold");
    }

    private static async Task CopyBlobAsync(ImageStore store, string dir, ImageStore.PendingBlobs pending, string digest, string archive, CancellationToken token)
    {
        pending.Add(digest);
        if (store.HasBlob(digest))
        {
            return;
        }

        await using var stream = File.OpenRead(BlobFile(dir, digest, archive));
        try
        {
            await store.PutBlobAsync(stream, digest, null, token).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{archive}: {e.Message}", e);
        }
    }

    private static async Task<JsonNode> BlobJsonAsync(ImageStore store, string dir, ImageStore.PendingBlobs pending, string digest, string archive, CancellationToken token)
    {
        await CopyBlobAsync(store, dir, pending, digest, archive, token).ConfigureAwait(false);
        return store.ReadJsonBlob(digest) ?? throw new InvalidDataException($"{archive}: blob {digest} is not JSON");
    }

    private static string BlobFile(string dir, string digest, string archive)
    {
        var parts = digest.Split(':');
        var path = parts.Length == 2 && parts[1].All(char.IsAsciiHexDigitLower) ? Path.Combine(dir, "blobs", parts[0], parts[1]) : "";
        return File.Exists(path) ? path : throw new InvalidDataException($"{archive}: the archive does not hold blob {digest}");
    }
}
