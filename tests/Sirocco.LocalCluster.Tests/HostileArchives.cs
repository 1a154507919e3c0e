using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Tests;

/// <summary>Hand-made image layers and OCI archives with what no honest tool writes: links out, "..", odd whiteouts.</summary>
internal static class HostileArchives
{
    public static Func<TarWriter, Task> File(string name, string content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead) =>
        File(name, Encoding.UTF8.GetBytes(content), mode);

    public static Func<TarWriter, Task> File(string name, byte[] content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead) => async writer =>
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = mode };
        await writer.WriteEntryAsync(entry);
    };

    public static Func<TarWriter, Task> Link(string name, string target) => writer =>
        writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target });

    public static Func<TarWriter, Task> HardLink(string name, string target) => writer =>
        writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target });

    /// <summary>A plain tar of the entries, in order.</summary>
    public static byte[] Tar(IEnumerable<Func<TarWriter, Task>> entries)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                entry(writer).GetAwaiter().GetResult();
            }
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// An oci-archive of one image with <paramref name="layer"/> (uncompressed), its config's diff_id being the layer's
    /// digest unless <paramref name="diffId"/> says otherwise, plus <paramref name="extra"/> entries in the archive itself.
    /// </summary>
    public static byte[] Oci(byte[] layer, string? diffId = null, IEnumerable<Func<TarWriter, Task>>? extra = null)
    {
        static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Cmd"] = new JsonArray("/bin/sh") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(diffId ?? Digest(layer)) },
        }.ToJsonString());
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = Digest(config), ["size"] = config.Length },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar", ["digest"] = Digest(layer), ["size"] = layer.Length }),
        }.ToJsonString());
        var index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray(new JsonObject { ["mediaType"] = "application/vnd.oci.image.manifest.v1+json", ["digest"] = Digest(manifest), ["size"] = manifest.Length }),
        }.ToJsonString());
        List<Func<TarWriter, Task>> entries =
        [
            .. extra ?? [],
            File("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"),
            File("index.json", Encoding.UTF8.GetString(index)),
            File("blobs/sha256/" + Digest(manifest)[7..], manifest),
            File("blobs/sha256/" + Digest(config)[7..], config),
            File("blobs/sha256/" + Digest(layer)[7..], layer),
        ];
        return Tar(entries);
    }
}
