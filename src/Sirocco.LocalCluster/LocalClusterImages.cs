using Sirocco.LocalCluster.Images;

namespace Sirocco.LocalCluster;

/// <summary>One image in a local cluster's image store.</summary>
/// <param name="Name">The normalised name with its tag or digest, such as <c>docker.io/library/busybox:1.36</c>.</param>
/// <param name="Digest">The digest of its manifest.</param>
/// <param name="Id">The digest of its config (Docker's image ID).</param>
/// <param name="Size">Bytes of its config and layers as stored.</param>
/// <param name="Stored">When it was pulled or loaded.</param>
public sealed record LocalClusterImage(string Name, string Digest, string Id, long Size, DateTimeOffset Stored);

/// <summary>
/// The images of a local cluster (<c>local-cluster/images</c> under its home directory), for the CLI's
/// <c>cluster load-image</c>, <c>cluster images</c> and <c>cluster rmi</c>. Safe to use while the cluster runs in
/// another process.
/// </summary>
public sealed class LocalClusterImages
{
    private readonly ImageStore _store;

    private LocalClusterImages(ImageStore store) => _store = store;

    /// <summary>
    /// Opens the image store of the cluster whose home directory is <paramref name="homeDirectory"/>. Linux only, as the
    /// cluster is.
    /// </summary>
    public static LocalClusterImages Open(string homeDirectory) =>
        OperatingSystem.IsLinux()
            ? new(new ImageStore(Path.Combine(homeDirectory, "local-cluster", "images")))
            : throw new PlatformNotSupportedException("the local cluster and its images need Linux");

    /// <summary>Every image name the store holds, sorted.</summary>
    public IReadOnlyList<LocalClusterImage> List() =>
        !OperatingSystem.IsLinux() ? [] : [.. _store.List().Select(r => new LocalClusterImage(r.Name, r.ManifestDigest, r.ConfigDigest, r.Size, r.Stored))];

    /// <summary>
    /// Loads a docker-archive or oci-archive tarball; returns the names stored. <paramref name="name"/> names an image the
    /// archive names only by tag or not at all. Throws <see cref="InvalidDataException"/> or
    /// <see cref="FileNotFoundException"/> naming the archive and what is wrong with it.
    /// </summary>
    public async Task<IReadOnlyList<string>> LoadAsync(string archivePath, string? name = null, CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException();
        }

        var names = await ImageArchive.LoadAsync(_store, archivePath, name, cancellationToken).ConfigureAwait(false);
        foreach (var loaded in names)
        {
            try
            {
                await _store.UnpackAsync(_store.Find(loaded)!, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // An image that cannot be unpacked is not kept.
                foreach (var each in names)
                {
                    if (OperatingSystem.IsLinux())
                    {
                        _store.Remove(each);
                    }
                }

                throw;
            }
        }

        return names;
    }

    /// <summary>Removes an image name and collects what no other image or running container uses; false when absent.</summary>
    public bool Remove(string image) => OperatingSystem.IsLinux() && _store.Remove(image);

    /// <summary>
    /// Deletes the blobs and unpacked roots no image name refers to and no running container uses (a root kept by a
    /// container while its image was removed goes once the container has ended).
    /// </summary>
    public void Prune()
    {
        if (OperatingSystem.IsLinux())
        {
            _store.Collect();
        }
    }

    /// <summary>Bytes of the store's files (blobs and unpacked root folders); links are not followed.</summary>
    public long DiskBytes() => OperatingSystem.IsLinux() ? _store.DiskBytes() : 0;

    /// <summary>The normalised form of an image name (<c>busybox</c> is <c>docker.io/library/busybox:latest</c>).</summary>
    public static string Normalize(string image) => ImageReference.Parse(image).ToString();
}
