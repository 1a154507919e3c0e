using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Sirocco.LocalCluster.Images;

/// <summary>
/// Applies one image layer (a tar archive, plain, gzip or zstd) onto a root folder as the OCI image spec says:
/// <c>.wh.NAME</c> deletes NAME from the layers below, <c>.wh..wh..opq</c> empties its folder of what the layers below
/// put there. Paths are resolved inside the root, so a link in the image cannot make a later entry land outside it.
/// Devices are skipped (an unprivileged unpacker cannot make them); set-user-ID and set-group-ID bits are dropped, so
/// an unpacked image gives nobody on the host more rights than its owner; files belong to the cluster's user.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    private const UnixFileMode Dropped = UnixFileMode.SetUser | UnixFileMode.SetGroup;

    /// <summary>The layer's content with its compression (found by its first bytes) undone.</summary>
    public static Stream Decompress(Stream compressed)
    {
        var buffered = new BufferedStream(compressed, 1 << 16);
        Span<byte> head = stackalloc byte[4];
        var read = 0;
        while (read < 4)
        {
            var n = buffered.Read(head[read..]);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        var prefix = new PrefixStream(head[..read].ToArray(), buffered);
        if (read >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        {
            return new GZipStream(prefix, CompressionMode.Decompress);
        }

        if (read == 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
        {
            return new ZstdSharp.DecompressionStream(prefix);
        }

        return prefix;
    }

    /// <summary>
    /// Applies the layer in <paramref name="layer"/> (compressed or not) onto <paramref name="root"/>; returns the digest
    /// of the uncompressed layer (its diff ID), for the caller to check against the image config.
    /// </summary>
    public static string Apply(Stream layer, string root)
    {
        using var hashing = new HashingStream(Decompress(layer));
        var made = new Made(root);
        using (var tar = new TarReader(hashing, leaveOpen: true))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                var parts = RootPath.Split(entry.Name).ToList();
                if (parts.Count == 0 || parts.Contains(".."))
                {
                    continue;
                }

                var name = parts[^1];
                var parent = RootPath.Resolve(root, string.Join('/', parts.SkipLast(1)), followLast: true);
                if (name == OpaqueMarker)
                {
                    if (Directory.Exists(parent) && new DirectoryInfo(parent).LinkTarget is null)
                    {
                        ClearBelow(parent, made);
                    }

                    continue;
                }

                if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    var hidden = name[WhiteoutPrefix.Length..];
                    var victim = Path.Combine(parent, hidden);
                    if (hidden is "" or "." or ".." || made.Contains(victim))
                    {
                        // Not a name, or something this layer made itself: a whiteout hides only what is below.
                        continue;
                    }

                    Delete(victim, root);
                    continue;
                }

                EnsureDirectory(root, parent, made);
                var target = Path.Combine(parent, name);
                made.Add(target);
                Write(entry, root, target);
            }
        }

        hashing.Drain();
        return "sha256:" + Convert.ToHexStringLower(hashing.Hash());
    }

    /// <summary>
    /// An opaque whiteout: removes from <paramref name="dir"/> what the layers below put there, keeping what this layer
    /// has made (and the folders leading to it), whichever order the layer's entries come in.
    /// </summary>
    private static void ClearBelow(string dir, Made made)
    {
        foreach (var child in Directory.EnumerateFileSystemEntries(dir).ToList())
        {
            var isFolder = Directory.Exists(child) && new DirectoryInfo(child).LinkTarget is null;
            if (made.Contains(child) || made.IsAncestor(child))
            {
                if (isFolder)
                {
                    ClearBelow(child, made);
                }

                continue;
            }

            Delete(child, made.Root);
        }
    }

    private static void Write(TarEntry entry, string root, string target)
    {
        var mode = (entry.Mode & ~Dropped) | UnixFileMode.UserRead;
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (!Directory.Exists(target) || new FileInfo(target).LinkTarget is not null)
                {
                    Delete(target, root);
                    Directory.CreateDirectory(target);
                }

                File.SetUnixFileMode(target, mode | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                Delete(target, root);
                using (var output = new FileStream(target, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode | UnixFileMode.UserWrite }))
                {
                    entry.DataStream?.CopyTo(output);
                }

                File.SetUnixFileMode(target, mode);
                break;
            case TarEntryType.SymbolicLink:
                Delete(target, root);
                File.CreateSymbolicLink(target, entry.LinkName);
                break;
            case TarEntryType.HardLink:
                var source = RootPath.Resolve(root, entry.LinkName, followLast: false);
                if (new FileInfo(source).LinkTarget is null && !File.Exists(source))
                {
                    throw new InvalidDataException($"layer entry {entry.Name} links to {entry.LinkName}, which the image does not have");
                }

                Delete(target, root);
                Kubelet.Native.HardLink(source, target);
                break;
            default:
                // Character and block devices, FIFOs: the sandbox gives every container its own /dev.
                break;
        }
    }

    private static void EnsureDirectory(string root, string dir, Made made)
    {
        if (Directory.Exists(dir) || dir.Length <= root.Length)
        {
            return;
        }

        EnsureDirectory(root, Path.GetDirectoryName(dir)!, made);
        Delete(dir, root);
        Directory.CreateDirectory(dir);
        made.Add(dir);
    }

    private static void Delete(string path, string root)
    {
        if (!path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"a layer tried to remove {path}, outside the image's root");
        }

        var info = new FileInfo(path);
        if (info.LinkTarget is not null || File.Exists(path))
        {
            info.Delete();
        }
        else if (Directory.Exists(path))
        {
            MakeWritable(path);
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>What one layer has made so far, and the folders leading to it.</summary>
    private sealed class Made(string root)
    {
        private readonly HashSet<string> _paths = new(StringComparer.Ordinal);
        private readonly HashSet<string> _ancestors = new(StringComparer.Ordinal);

        public string Root { get; } = root;

        public void Add(string path)
        {
            _paths.Add(path);
            for (var dir = Path.GetDirectoryName(path); dir is not null && dir.Length > Root.Length && _ancestors.Add(dir); dir = Path.GetDirectoryName(dir))
            {
            }
        }

        public bool Contains(string path) => _paths.Contains(path);

        public bool IsAncestor(string path) => _ancestors.Contains(path);
    }

    /// <summary>Reads through a stream while hashing what was read (SHA-256).</summary>
    private sealed class HashingStream(Stream inner) : ReadOnlyStream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public byte[] Hash() => _hash.GetHashAndReset();

        /// <summary>Reads what the tar reader left (its end-of-archive blocks, padding) so the hash covers everything.</summary>
        public void Drain()
        {
            var buffer = new byte[1 << 16];
            while (Read(buffer, 0, buffer.Length) > 0)
            {
            }
        }

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            _hash.AppendData(buffer[..n]);
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>Gives the owner write access to a folder tree so it can be removed (an image may hold read-only folders).</summary>
    public static void MakeWritable(string dir)
    {
        File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.UserRead);
        foreach (var sub in Directory.EnumerateDirectories(dir))
        {
            if (new DirectoryInfo(sub).LinkTarget is null)
            {
                MakeWritable(sub);
            }
        }
    }

    /// <summary>A stream that first returns bytes already read from another, then the rest of it.</summary>
    private sealed class PrefixStream(byte[] prefix, Stream rest) : ReadOnlyStream
    {
        private int _offset;

        public override int Read(Span<byte> buffer)
        {
            if (_offset < prefix.Length)
            {
                var n = Math.Min(buffer.Length, prefix.Length - _offset);
                prefix.AsSpan(_offset, n).CopyTo(buffer);
                _offset += n;
                return n;
            }

            return rest.Read(buffer);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>A forward-only stream that can only be read.</summary>
    private abstract class ReadOnlyStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
