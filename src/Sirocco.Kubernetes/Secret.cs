using k8s.Models;

namespace Sirocco.Kubernetes;

/// <summary>
/// A Kubernetes Secret handed to the task's pod, as Airflow's <c>Secret(deploy_type, deploy_target, secret, key,
/// items)</c>: as one environment variable (<c>env</c> with a key), as every key of the secret in the environment
/// (<c>env</c> with neither key nor target), or as files in a read-only volume (<c>volume</c>).
/// Invalid combinations fail when the DAG is loaded.
/// </summary>
public sealed record Secret
{
    /// <summary>Creates a secret reference; the errors are the provider's.</summary>
    /// <param name="deployType"><c>env</c> or <c>volume</c>.</param>
    /// <param name="deployTarget">The environment variable (upper-cased) or the mount directory.</param>
    /// <param name="secret">The name of the Kubernetes Secret.</param>
    /// <param name="key">The key within the secret (for <c>env</c>: the value of the variable).</param>
    /// <param name="items">For <c>volume</c>: which keys to project, and to which relative paths.</param>
    /// <exception cref="SiroccoException">An invalid combination.</exception>
    public Secret(string deployType, string? deployTarget, string secret, string? key = null, IReadOnlyList<V1KeyToPath>? items = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (deployType is not ("env" or "volume"))
        {
            throw new SiroccoException($"deploy_type must be env or volume, got '{deployType}' (secret '{secret}')");
        }

        if (key is not null && deployTarget is null)
        {
            throw new SiroccoException($"If `key` is set, `deploy_target` should not be None (secret '{secret}', key '{key}')");
        }

        if (deployType == "volume" && string.IsNullOrEmpty(deployTarget))
        {
            throw new SiroccoException($"a volume secret needs deploy_target, the directory to mount it at (secret '{secret}')");
        }

        if (secret.Length == 0)
        {
            throw new SiroccoException("secret must name a Kubernetes Secret, got ''");
        }

        DeployType = deployType;
        DeployTarget = deployType == "env" ? deployTarget?.ToUpperInvariant() : deployTarget;
        SecretName = secret;
        Key = key;
        Items = items ?? [];
    }

    /// <summary><c>env</c> or <c>volume</c>.</summary>
    public string DeployType { get; }

    /// <summary>The environment variable (upper-cased) or the mount path; null for a whole-secret <c>envFrom</c>.</summary>
    public string? DeployTarget { get; }

    /// <summary>The name of the Kubernetes Secret.</summary>
    public string SecretName { get; }

    /// <summary>The key within the secret, if any.</summary>
    public string? Key { get; }

    /// <summary>For a volume: the keys projected and their relative paths (all keys when empty).</summary>
    public IReadOnlyList<V1KeyToPath> Items { get; }

    /// <summary>One key of a secret as an environment variable: <c>Secret("env", target, secret, key)</c>.</summary>
    public static Secret Env(string target, string secret, string key) => new("env", target, secret, key);

    /// <summary>Every key of a secret as environment variables (<c>envFrom</c>).</summary>
    public static Secret EnvFrom(string secret) => new("env", null, secret);

    /// <summary>A secret mounted read-only as files under <paramref name="path"/>.</summary>
    public static Secret Volume(string path, string secret, string? key = null, IReadOnlyList<V1KeyToPath>? items = null) =>
        new("volume", path, secret, key, items);

    /// <inheritdoc/>
    public bool Equals(Secret? other) =>
        other is not null && DeployType == other.DeployType && DeployTarget == other.DeployTarget
        && SecretName == other.SecretName && Key == other.Key && Items.Count == other.Items.Count;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(DeployType, DeployTarget, SecretName, Key);
}
