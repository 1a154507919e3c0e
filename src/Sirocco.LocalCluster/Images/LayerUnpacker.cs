using System.Formats.Tar;
using System.IO.Compression;

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

    /// <summary>Applies the layer in <paramref name="layer"/> (compressed or not) onto <paramref name="root"/>.</summary>
    public static void Apply(Stream layer, string root)
    {
        using var tar = new TarReader(Decompress(layer), leaveOpen: false);
        var created = new HashSet<string>(StringComparer.Ordinal);
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
                if (Directory.Exists(parent))
                {
                    foreach (var child in Directory.EnumerateFileSystemEntries(parent).ToList())
                    {
                        if (!created.Contains(child))
                        {
                            Delete(child);
                        }
                    }
                }

                continue;
            }

            if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                Delete(Path.Combine(parent, name[WhiteoutPrefix.Length..]));
                continue;
            }

            EnsureDirectory(root, parent);
            var target = Path.Combine(parent, name);
            created.Add(target);
            Write(entry, root, target);
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
                    Delete(target);
                    Directory.CreateDirectory(target);
                }

                File.SetUnixFileMode(target, mode | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                Delete(target);
                using (var output = new FileStream(target, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode | UnixFileMode.UserWrite }))
                {
                    entry.DataStream?.CopyTo(output);
                }

                File.SetUnixFileMode(target, mode);
                break;
            case TarEntryType.SymbolicLink:
                Delete(target);
                File.CreateSymbolicLink(target, entry.LinkName);
                break;
            case TarEntryType.HardLink:
                var source = RootPath.Resolve(root, entry.LinkName, followLast: false);
                if (!Path.Exists(source))
                {
                    throw new InvalidDataException($"layer entry {entry.Name} links to {entry.LinkName}, which the image does not have");
                }

                Delete(target);
                Kubelet.Native.HardLink(source, target);
                break;
            default:
                // Character and block devices, FIFOs: the sandbox gives every container its own /dev.
                break;
        }
    }

    private static void EnsureDirectory(string root, string dir)
    {
        if (Directory.Exists(dir))
        {
            return;
        }

        if (dir.Length <= root.Length)
        {
            return;
        }

        EnsureDirectory(root, Path.GetDirectoryName(dir)!);
        Delete(dir);
        Directory.CreateDirectory(dir);
    }

    private static void Delete(string path)
    {
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
    private sealed class PrefixStream(byte[] prefix, Stream rest) : Stream
    {
        private int _offset;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

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

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
