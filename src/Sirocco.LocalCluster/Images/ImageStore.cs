using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Images;

/// <summary>
/// The local cluster's images, in one folder: content-addressed blobs (manifests, configs, layers) shared by every
/// image, one record per image name, and one unpacked root folder per layer chain, shared by every container of every
/// image with those layers. Blobs and root folders nothing refers to are collected when a name is removed or moved.
/// The CLI and a running cluster may use the same folder: writes are renames, and records and collection take a file
/// lock.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ImageStore
{
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _unpacking = new(StringComparer.Ordinal);
    private readonly System.Threading.Lock _inProcess = new();
    private readonly Dictionary<string, int> _users = new(StringComparer.Ordinal);

    public ImageStore(string directory)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var sub in new[] { "blobs/sha256", "refs", "rootfs", "leases", "tmp" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(directory, sub));
        }
    }

    public string Directory { get; }

    public string BlobPath(string digest) => Path.Combine(Directory, "blobs", "sha256", Hex(digest));

    public bool HasBlob(string digest) => File.Exists(BlobPath(digest));

    /// <summary>The blob's bytes parsed as JSON, or null when the store does not hold it.</summary>
    public JsonNode? ReadJsonBlob(string digest) => HasBlob(digest) ? JsonNode.Parse(File.ReadAllBytes(BlobPath(digest))) : null;

    /// <summary>Stores bytes as a blob; returns its digest.</summary>
    public string PutBlob(ReadOnlySpan<byte> bytes)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!HasBlob(digest))
        {
            var tmp = TempPath();
            File.WriteAllBytes(tmp, bytes.ToArray());
            Commit(tmp, BlobPath(digest));
        }

        return digest;
    }

    /// <summary>
    /// Copies a stream into the store, checking it against <paramref name="expected"/> when given; returns the digest and
    /// size. A mismatch deletes what was written and throws <see cref="InvalidDataException"/>.
    /// </summary>
    public async Task<(string Digest, long Size)> PutBlobAsync(Stream source, string? expected, Func<Stream, Memory<byte>, CancellationToken, ValueTask<int>>? read, CancellationToken token)
    {
        var tmp = TempPath();
        long size = 0;
        string digest;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var output = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                while (true)
                {
                    var n = read is null ? await source.ReadAsync(buffer, token).ConfigureAwait(false) : await read(source, buffer, token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    hash.AppendData(buffer, 0, n);
                    await output.WriteAsync(buffer.AsMemory(0, n), token).ConfigureAwait(false);
                    size += n;
                }
            }

            digest = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
            if (expected is not null && !string.Equals(expected, digest, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"digest mismatch: expected {expected}, the registry sent {digest} ({size} bytes)");
            }
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }

        Commit(tmp, BlobPath(digest));
        return (digest, size);
    }

    /// <summary>The record stored under an image name as a pod writes it (normalised first), or null.</summary>
    public ImageRecord? Find(string image)
    {
        var path = RefPath(ImageReference.Parse(image).ToString());
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return ImageRecord.FromJson(JsonNode.Parse(File.ReadAllBytes(path))!, ReadJsonBlob);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public IReadOnlyList<ImageRecord> List()
    {
        var result = new List<ImageRecord>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Path.Combine(Directory, "refs"), "*.json"))
        {
            try
            {
                result.Add(ImageRecord.FromJson(JsonNode.Parse(File.ReadAllBytes(file))!, ReadJsonBlob));
            }
            catch (FileNotFoundException)
            {
                // Removed while listing.
            }
        }

        return [.. result.OrderBy(r => r.Name, StringComparer.Ordinal)];
    }

    /// <summary>Stores a record under its name; what the name held before is collected when nothing else uses it.</summary>
    public void Save(ImageRecord record)
    {
        using var held = Lock();
        foreach (var blob in record.Layers.Append(record.ConfigDigest).Append(record.ManifestDigest))
        {
            if (!HasBlob(blob))
            {
                throw new InvalidDataException($"{record.Name}: blob {blob} went missing before the image was recorded (removed by another process?)");
            }
        }

        var path = RefPath(record.Name);
        var moved = File.Exists(path) && JsonNode.Parse(File.ReadAllBytes(path))?["manifest"]?.GetValue<string>() != record.ManifestDigest;
        var tmp = TempPath();
        File.WriteAllText(tmp, record.ToJson().ToJsonString());
        File.Move(tmp, path, overwrite: true);
        if (moved)
        {
            CollectLocked();
        }
    }

    /// <summary>Removes an image name; returns false when the store has no such name.</summary>
    public bool Remove(string image)
    {
        using var held = Lock();
        var path = RefPath(ImageReference.Parse(image).ToString());
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        CollectLocked();
        return true;
    }

    /// <summary>Deletes blobs and root folders no record refers to and no running container uses.</summary>
    public void Collect()
    {
        using var held = Lock();
        CollectLocked();
    }

    /// <summary>
    /// The unpacked root folder of an image, made from its layers on first use. Containers see it read-only, under
    /// their own writable layer.
    /// </summary>
    public async Task<string> UnpackAsync(ImageRecord record, CancellationToken token)
    {
        var chain = Hex(record.ChainId);
        var target = Path.Combine(Directory, "rootfs", chain);
        if (System.IO.Directory.Exists(target))
        {
            return target;
        }

        var gate = _unpacking.GetOrAdd(chain, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(token).ConfigureAwait(false);
        try
        {
            if (System.IO.Directory.Exists(target))
            {
                return target;
            }

            var tmp = TempPath();
            System.IO.Directory.CreateDirectory(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            try
            {
                if (record.DiffIds.Count != record.Layers.Count)
                {
                    throw new InvalidDataException($"{record.Name}: the image config lists {record.DiffIds.Count} layer digests (rootfs.diff_ids) for {record.Layers.Count} layers");
                }

                await Task.Run(
                    () =>
                    {
                        for (var i = 0; i < record.Layers.Count; i++)
                        {
                            token.ThrowIfCancellationRequested();
                            using var stream = File.OpenRead(BlobPath(record.Layers[i]));
                            var diffId = LayerUnpacker.Apply(stream, tmp);

                            // The unpacked folder is shared by name (the chain of diff IDs): it must hold what they say.
                            if (diffId != record.DiffIds[i])
                            {
                                throw new InvalidDataException($"{record.Name}: layer {i + 1} ({record.Layers[i]}) unpacks to {diffId}, but the image config says {record.DiffIds[i]}");
                            }
                        }
                    },
                    token).ConfigureAwait(false);
                System.IO.Directory.Move(tmp, target);
            }
            catch (IOException) when (System.IO.Directory.Exists(target))
            {
                // Another process unpacked the same chain first.
                DeleteTree(tmp);
            }
            catch
            {
                DeleteTree(tmp);
                throw;
            }

            return target;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The image's unpacked root folder for a container, leased until the lease is disposed (taken before the folder is
    /// looked at, under the store's lock, so collection never removes it under the container). This process keeps one
    /// lease file per root while any of its containers uses it (<paramref name="holder"/> names the first), so a
    /// burst of containers of one image writes and deletes no file per container.
    /// </summary>
    public async Task<(string RootFs, IDisposable Lease)> AcquireAsync(ImageRecord record, string holder, CancellationToken token)
    {
        var chain = Hex(record.ChainId);
        using (Lock())
        {
            if (_users.TryGetValue(chain, out var count))
            {
                _users[chain] = count + 1;
            }
            else
            {
                var dir = Path.Combine(Directory, "leases", chain);
                System.IO.Directory.CreateDirectory(dir);
                File.WriteAllBytes(Path.Combine(dir, $"{Environment.ProcessId}-{holder}"), []);
                _users[chain] = 1;
            }
        }

        var lease = new Leased(this, chain);
        try
        {
            return (await UnpackAsync(record, token).ConfigureAwait(false), lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private void Release(string chain)
    {
        using (Lock())
        {
            if (_users[chain] > 1)
            {
                _users[chain]--;
                return;
            }

            _users.Remove(chain);
            var dir = Path.Combine(Directory, "leases", chain);
            foreach (var file in System.IO.Directory.EnumerateFiles(dir, $"{Environment.ProcessId}-*"))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// Keeps the blobs a pull or load is writing from collection until it has recorded its image: the digests go to a
    /// file under leases/ before the blobs are written.
    /// </summary>
    public PendingBlobs Pending() => new(Path.Combine(Directory, "leases", "pending-" + Guid.NewGuid().ToString("N")));

    /// <summary>
    /// Drops every container's lease (at cluster start: no container of an earlier run still runs), and the pending
    /// lists of pulls or loads interrupted over an hour ago.
    /// </summary>
    public void ClearLeases()
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Path.Combine(Directory, "leases")))
        {
            DeleteTree(dir);
        }

        foreach (var file in new DirectoryInfo(Path.Combine(Directory, "leases")).EnumerateFiles("pending-*"))
        {
            if (file.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-1))
            {
                file.Delete();
            }
        }
    }

    /// <summary>Deletes what an interrupted pull, unpack or load left in the store's scratch folder over an hour ago.</summary>
    public void ClearTemporary()
    {
        foreach (var entry in new DirectoryInfo(Path.Combine(Directory, "tmp")).EnumerateFileSystemInfos())
        {
            if (entry.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-1))
            {
                if (entry is DirectoryInfo)
                {
                    DeleteTree(entry.FullName);
                }
                else
                {
                    entry.Delete();
                }
            }
        }
    }

    /// <summary>Bytes of the files under the store (blobs and root folders); links are not followed, hard links count per name.</summary>
    public long DiskBytes() => Bytes(new DirectoryInfo(Directory));

    private static long Bytes(DirectoryInfo dir)
    {
        long total = 0;
        foreach (var entry in dir.EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            if (entry.LinkTarget is not null)
            {
                continue;
            }

            total += entry switch
            {
                FileInfo file => file.Length,
                DirectoryInfo sub => Bytes(sub),
                _ => 0,
            };
        }

        return total;
    }

    private void CollectLocked()
    {
        var records = List();
        var blobs = new HashSet<string>(records.SelectMany(r => r.Layers.Append(r.ConfigDigest).Append(r.ManifestDigest)).Select(Hex), StringComparer.Ordinal);
        var chains = new HashSet<string>(records.Select(r => Hex(r.ChainId)), StringComparer.Ordinal);
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Path.Combine(Directory, "leases")))
        {
            if (System.IO.Directory.EnumerateFiles(dir).Any())
            {
                chains.Add(Path.GetFileName(dir));
            }
        }

        foreach (var pending in System.IO.Directory.EnumerateFiles(Path.Combine(Directory, "leases"), "pending-*"))
        {
            foreach (var line in File.ReadLines(pending))
            {
                if (line.StartsWith("sha256:", StringComparison.Ordinal) && line.Length == 71)
                {
                    blobs.Add(line[7..]);
                }
            }
        }

        foreach (var file in System.IO.Directory.EnumerateFiles(Path.Combine(Directory, "blobs", "sha256")))
        {
            if (!blobs.Contains(Path.GetFileName(file)))
            {
                File.Delete(file);
            }
        }

        foreach (var dir in System.IO.Directory.EnumerateDirectories(Path.Combine(Directory, "rootfs")))
        {
            if (!chains.Contains(Path.GetFileName(dir)))
            {
                // Out of sight at once (a rename), then deleted: nobody finds a half-deleted root.
                var doomed = TempPath();
                System.IO.Directory.Move(dir, doomed);
                DeleteTree(doomed);
            }
        }
    }

    /// <summary>
    /// The store's lock: first among this process's threads (a monitor, no polling), then against other processes (an
    /// exclusive lock on the .lock file, retried for up to 10 s while the CLI holds it).
    /// </summary>
    private IDisposable Lock()
    {
        var path = Path.Combine(Directory, ".lock");
        _inProcess.Enter();
        try
        {
            var deadline = DateTime.UtcNow + LockWait;
            while (true)
            {
                try
                {
                    return new Held(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None), _inProcess);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(25);
                }
                catch (IOException e)
                {
                    throw new IOException($"the image store {Directory} stayed locked by another process for {LockWait.TotalSeconds:0} s", e);
                }
            }
        }
        catch
        {
            _inProcess.Exit();
            throw;
        }
    }

    private sealed class Held(FileStream file, System.Threading.Lock gate) : IDisposable
    {
        public void Dispose()
        {
            file.Dispose();
            gate.Exit();
        }
    }

    private string RefPath(string name) =>
        Path.Combine(Directory, "refs", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..32] + ".json");

    private string TempPath() => Path.Combine(Directory, "tmp", Guid.NewGuid().ToString("N"));

    private static void Commit(string tmp, string target)
    {
        try
        {
            File.Move(tmp, target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            File.Delete(tmp);
        }
    }

    internal static void DeleteTree(string dir)
    {
        if (System.IO.Directory.Exists(dir))
        {
            LayerUnpacker.MakeWritable(dir);
            System.IO.Directory.Delete(dir, recursive: true);
        }
    }

    private static string Hex(string digest)
    {
        if (!digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.Length != 71 || !digest[7..].All(char.IsAsciiHexDigitLower))
        {
            throw new InvalidDataException($"unsupported digest \"{digest}\" (the local cluster stores sha256 digests)");
        }

        return digest[7..];
    }

    private sealed class Leased(ImageStore store, string chain) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                store.Release(chain);
            }
        }
    }

    /// <summary>The digests a pull or load is writing; collection keeps them until disposed.</summary>
    internal sealed class PendingBlobs(string path) : IDisposable
    {
        public void Add(string digest) => File.AppendAllText(path, digest + "\n");

        public void Dispose() => File.Delete(path);
    }
}
