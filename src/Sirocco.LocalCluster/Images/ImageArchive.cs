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
        Directory.CreateDirectory(dir);
        try
        {
            await using (var file = File.OpenRead(archive))
            {
                Extract(LayerUnpacker.Decompress(file), dir, archive);
            }

            if (File.Exists(Path.Combine(dir, "index.json")) && File.Exists(Path.Combine(dir, "oci-layout")))
            {
                return await LoadOciAsync(store, dir, archive, name, token).ConfigureAwait(false);
            }

            if (File.Exists(Path.Combine(dir, "manifest.json")))
            {
                return await LoadDockerAsync(store, dir, archive, name, token).ConfigureAwait(false);
            }

            throw new InvalidDataException($"{archive}: neither a docker-archive (no manifest.json) nor an oci-archive (no index.json and oci-layout)");
        }
        finally
        {
            ImageStore.DeleteTree(dir);
        }
    }

    private static void Extract(Stream stream, string dir, string archive)
    {
        using var tar = new TarReader(stream);
        while (tar.GetNextEntry() is { } entry)
        {
            var parts = RootPath.Split(entry.Name).ToList();
            if (parts.Count == 0 || parts.Contains(".."))
            {
                continue;
            }

            var target = Path.Combine(dir, Path.Combine([.. parts]));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (entry.EntryType == TarEntryType.SymbolicLink)
            {
                // Older docker-archives name layers as ID/layer.tar, a link to the file; it is resolved inside the folder.
                File.CreateSymbolicLink(target, entry.LinkName);
                continue;
            }

            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            {
                continue;
            }

            try
            {
                entry.ExtractToFile(target, overwrite: true);
            }
            catch (IOException e)
            {
                throw new IOException($"{archive}: cannot extract {entry.Name}: {e.Message}", e);
            }
        }
    }

    private static async Task<IReadOnlyList<string>> LoadOciAsync(ImageStore store, string dir, string archive, string? name, CancellationToken token)
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
            var manifest = await BlobJsonAsync(store, dir, digest, archive, token).ConfigureAwait(false);
            if (manifest["manifests"] is JsonArray platforms && manifest["layers"] is null)
            {
                var arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";
                digest = platforms.FirstOrDefault(m => m?["platform"]?["architecture"]?.GetValue<string>() == arch)?["digest"]?.GetValue<string>()
                    ?? throw new InvalidDataException($"{archive}: the image index of {imageName} has no linux/{arch} manifest");
                manifest = await BlobJsonAsync(store, dir, digest, archive, token).ConfigureAwait(false);
            }

            var config = manifest["config"]?["digest"]?.GetValue<string>() ?? throw new InvalidDataException($"{archive}: manifest {digest} has no config");
            var layers = (manifest["layers"]?.AsArray() ?? []).Select(l => l!["digest"]!.GetValue<string>()).ToList();
            long size = manifest["config"]?["size"]?.GetValue<long>() ?? 0;
            foreach (var blob in layers.Prepend(config))
            {
                await CopyBlobAsync(store, dir, blob, archive, token).ConfigureAwait(false);
            }

            size += (manifest["layers"]?.AsArray() ?? []).Sum(l => l?["size"]?.GetValue<long>() ?? 0);
            loaded.Add(Save(store, imageName, digest, config, layers, size));
        }

        return loaded;
    }

    private static async Task<IReadOnlyList<string>> LoadDockerAsync(ImageStore store, string dir, string archive, string? name, CancellationToken token)
    {
        var images = JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(dir, "manifest.json"), token).ConfigureAwait(false))?.AsArray()
            ?? throw new InvalidDataException($"{archive}: manifest.json is not a list");
        var loaded = new List<string>();
        foreach (var image in images)
        {
            var configBytes = await File.ReadAllBytesAsync(Member(dir, image?["Config"]?.GetValue<string>(), archive), token).ConfigureAwait(false);
            var config = store.PutBlob(configBytes);
            var layers = new List<(string Digest, long Size)>();
            foreach (var layer in image?["Layers"]?.AsArray() ?? [])
            {
                await using var stream = File.OpenRead(Member(dir, layer?.GetValue<string>(), archive));
                layers.Add(await store.PutBlobAsync(stream, null, null, token).ConfigureAwait(false));
            }

            // A docker-archive has no distribution manifest: write the one a registry would serve.
            var manifest = new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json",
                ["config"] = new JsonObject { ["mediaType"] = "application/vnd.docker.container.image.v1+json", ["size"] = configBytes.Length, ["digest"] = config },
                ["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)new JsonObject { ["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar", ["size"] = l.Size, ["digest"] = l.Digest })]),
            };
            var manifestDigest = store.PutBlob(System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()));
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

    private static string Member(string dir, string? relative, string archive)
    {
        if (relative is null || RootPath.Split(relative).Contains(".."))
        {
            throw new InvalidDataException($"{archive}: manifest.json names a missing or invalid file \"{relative}\"");
        }

        var path = RootPath.Resolve(dir, relative, followLast: true);
        return File.Exists(path) ? path : throw new InvalidDataException($"{archive}: manifest.json names {relative}, which the archive does not hold");
    }

    private static async Task CopyBlobAsync(ImageStore store, string dir, string digest, string archive, CancellationToken token)
    {
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

    private static async Task<JsonNode> BlobJsonAsync(ImageStore store, string dir, string digest, string archive, CancellationToken token)
    {
        await CopyBlobAsync(store, dir, digest, archive, token).ConfigureAwait(false);
        return store.ReadJsonBlob(digest) ?? throw new InvalidDataException($"{archive}: blob {digest} is not JSON");
    }

    private static string BlobFile(string dir, string digest, string archive)
    {
        var parts = digest.Split(':');
        var path = parts.Length == 2 && parts[1].All(char.IsAsciiHexDigitLower) ? Path.Combine(dir, "blobs", parts[0], parts[1]) : "";
        return File.Exists(path) ? path : throw new InvalidDataException($"{archive}: the archive does not hold blob {digest}");
    }
}
