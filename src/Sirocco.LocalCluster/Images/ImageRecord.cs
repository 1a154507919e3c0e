using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Images;

/// <summary>What an image's config says a container runs by default.</summary>
internal sealed record ImageConfig(
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Cmd,
    IReadOnlyList<string> Env,
    string WorkingDir,
    string User)
{
    /// <summary>Reads the <c>config</c> object of an OCI or Docker image config.</summary>
    public static ImageConfig Parse(JsonNode? document)
    {
        var config = document?["config"];
        static List<string> Strings(JsonNode? node) => node is JsonArray a ? [.. a.Select(v => v?.GetValue<string>() ?? "")] : [];
        return new ImageConfig(
            Strings(config?["Entrypoint"]),
            Strings(config?["Cmd"]),
            Strings(config?["Env"]),
            config?["WorkingDir"]?.GetValue<string>() ?? "",
            config?["User"]?.GetValue<string>() ?? "");
    }
}

/// <summary>One image the store holds under one name: its manifest, config and layers, all by digest.</summary>
internal sealed record ImageRecord
{
    /// <summary>The normalised name with its tag or digest, such as <c>docker.io/library/busybox:1.36</c>.</summary>
    public required string Name { get; init; }

    public required string ManifestDigest { get; init; }

    public required string ConfigDigest { get; init; }

    /// <summary>The layer blobs, bottom first, as stored (compressed or not).</summary>
    public required IReadOnlyList<string> Layers { get; init; }

    /// <summary>The digests of the uncompressed layers (the config's <c>rootfs.diff_ids</c>).</summary>
    public required IReadOnlyList<string> DiffIds { get; init; }

    /// <summary>Bytes of the config and layer blobs, as a registry reports an image's size.</summary>
    public long Size { get; init; }

    public required ImageConfig Config { get; init; }

    public DateTimeOffset Stored { get; init; }

    /// <summary>
    /// The OCI chain ID of the top layer: the name of the unpacked root folder, shared by every image with the same
    /// layers.
    /// </summary>
    public string ChainId => Chain(DiffIds);

    internal static string Chain(IReadOnlyList<string> diffIds)
    {
        if (diffIds.Count == 0)
        {
            return "sha256:" + Convert.ToHexStringLower(SHA256.HashData([]));
        }

        var chain = diffIds[0];
        foreach (var next in diffIds.Skip(1))
        {
            chain = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(chain + " " + next)));
        }

        return chain;
    }

    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["manifest"] = ManifestDigest,
        ["config"] = ConfigDigest,
        ["layers"] = new JsonArray([.. Layers.Select(l => (JsonNode)l)]),
        ["diffIds"] = new JsonArray([.. DiffIds.Select(l => (JsonNode)l)]),
        ["size"] = Size,
        ["stored"] = Stored.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Reads a record written by <see cref="ToJson"/>; the config comes from its blob.</summary>
    public static ImageRecord FromJson(JsonNode node, Func<string, JsonNode?> readBlob)
    {
        var config = node["config"]!.GetValue<string>();
        return new ImageRecord
        {
            Name = node["name"]!.GetValue<string>(),
            ManifestDigest = node["manifest"]!.GetValue<string>(),
            ConfigDigest = config,
            Layers = [.. node["layers"]!.AsArray().Select(l => l!.GetValue<string>())],
            DiffIds = [.. (node["diffIds"] as JsonArray ?? []).Select(l => l!.GetValue<string>())],
            Size = node["size"]?.GetValue<long>() ?? 0,
            Stored = DateTimeOffset.Parse(node["stored"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
            Config = ImageConfig.Parse(readBlob(config)),
        };
    }
}
