namespace Sirocco.LocalCluster.Images;

/// <summary>
/// A parsed image name, normalised as container runtimes do: no registry means Docker Hub (<c>docker.io</c>), a Docker
/// Hub name without a slash is under <c>library/</c>, no tag and no digest means <c>:latest</c>.
/// </summary>
internal sealed record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";

    /// <summary>The registry host to talk to (Docker Hub's API lives at registry-1.docker.io).</summary>
    public string ApiHost => Registry == DockerHub ? "registry-1.docker.io" : Registry;

    /// <summary>The tag or digest asked for, as the manifest endpoint takes it.</summary>
    public string Reference => Digest ?? Tag ?? "latest";

    /// <summary>The full normalised name, such as <c>docker.io/library/busybox:1.36</c>.</summary>
    public override string ToString() =>
        $"{Registry}/{Repository}" + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    /// <summary>The name without tag or digest.</summary>
    public string Name => $"{Registry}/{Repository}";

    /// <summary>Parses an image name, or throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static ImageReference Parse(string image)
    {
        if (string.IsNullOrWhiteSpace(image) || image != image.Trim())
        {
            throw new FormatException($"invalid reference format: \"{image}\"");
        }

        string? digest = null;
        var rest = image;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.Length != 71 || !digest[7..].All(char.IsAsciiHexDigitLower))
            {
                throw new FormatException($"invalid reference format: \"{image}\" (digest must be sha256:<64 hex digits>)");
            }
        }

        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (tag.Length == 0 || tag.Length > 128 || !tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                throw new FormatException($"invalid reference format: \"{image}\" (bad tag \"{tag}\")");
            }
        }

        var registry = DockerHub;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && HasRegistryPart(rest))
        {
            registry = rest[..slash];
            rest = rest[(slash + 1)..];
        }

        if (registry is "index.docker.io" or "registry-1.docker.io")
        {
            registry = DockerHub;
        }

        if (registry == DockerHub && !rest.Contains('/', StringComparison.Ordinal))
        {
            rest = "library/" + rest;
        }

        if (rest.Length == 0 || rest.Split('/').Any(c => c.Length == 0 || !c.All(ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch is '.' or '_' or '-')))
        {
            throw new FormatException($"invalid reference format: \"{image}\" (repository names are lower-case letters, digits, '.', '_' and '-')");
        }

        return new ImageReference(registry, rest, digest is null ? tag ?? "latest" : tag, digest);
    }

    private static bool HasRegistryPart(string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }

        var first = name[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost";
    }
}
