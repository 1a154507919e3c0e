using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Sirocco.LocalCluster.Store;

/// <summary>
/// Encryption at rest of Secrets in the cluster's state database, configured as Kubernetes configures it: an
/// EncryptionConfiguration file (<c>encryption-config.yaml</c> in the state folder, mode 0600, written with a fresh
/// 32-byte key on first start) whose first provider encrypts (<c>aesgcm</c>, or <c>identity</c> for none) and whose
/// every provider decrypts. A stored Secret is <c>k8s:enc:aesgcm:v1:KEYNAME:</c> + nonce + ciphertext and tag, with
/// the object's storage key as associated data, as the real API server writes it into etcd.
/// </summary>
internal sealed class SecretEncryption
{
    public const string FileName = "encryption-config.yaml";
    private const string Prefix = "k8s:enc:aesgcm:v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly string _path;
    private readonly List<(string Name, byte[] Key)> _keys;
    private readonly bool _encrypt;

    private SecretEncryption(string path, List<(string Name, byte[] Key)> keys, bool encrypt)
    {
        _path = path;
        _keys = keys;
        _encrypt = encrypt;
    }

    /// <summary>Reads the state folder's configuration, writing one with a new key when there is none.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static SecretEncryption LoadOrCreate(string stateDirectory)
    {
        var path = Path.Combine(stateDirectory, FileName);
        if (!File.Exists(path))
        {
            Certificates.WritePrivate(path, $$"""
                # Encryption at rest of the local cluster's Secrets (Kubernetes' EncryptionConfiguration). The first
                # provider encrypts; every provider decrypts. To rotate: add a new key first, restart, then remove the old.
                apiVersion: apiserver.config.k8s.io/v1
                kind: EncryptionConfiguration
                resources:
                  - resources:
                      - secrets
                    providers:
                      - aesgcm:
                          keys:
                            - name: key1
                              secret: {{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}}
                      - identity: {}

                """);
        }

        return Parse(path, File.ReadAllText(path));
    }

    internal static SecretEncryption Parse(string path, string yaml)
    {
        Config config;
        try
        {
            config = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).IgnoreUnmatchedProperties().Build().Deserialize<Config>(yaml) ?? new Config();
        }
        catch (YamlException e)
        {
            throw new InvalidOperationException($"{path}: not a valid EncryptionConfiguration: {e.Message}", e);
        }

        if (config.Kind != "EncryptionConfiguration")
        {
            throw new InvalidOperationException($"{path}: kind must be EncryptionConfiguration, got '{config.Kind}'");
        }

        var section = config.Resources.FirstOrDefault(r => r.Resources.Contains("secrets"))
            ?? throw new InvalidOperationException($"{path}: no entry of resources lists 'secrets'");
        var keys = new List<(string, byte[])>();
        bool? encrypt = null;
        for (var i = 0; i < section.Providers.Count; i++)
        {
            var provider = section.Providers[i];
            if (provider.Identity is not null)
            {
                encrypt ??= false;
                continue;
            }

            if (provider.Aesgcm is null)
            {
                throw new InvalidOperationException($"{path}: providers[{i}]: the local cluster supports the aesgcm and identity providers");
            }

            encrypt ??= true;
            foreach (var key in provider.Aesgcm.Keys)
            {
                byte[] bytes;
                try
                {
                    bytes = Convert.FromBase64String(key.Secret ?? string.Empty);
                }
                catch (FormatException)
                {
                    throw new InvalidOperationException($"{path}: providers[{i}].aesgcm key '{key.Name}': secret is not base64");
                }

                if (string.IsNullOrEmpty(key.Name) || bytes.Length is not (16 or 24 or 32))
                {
                    throw new InvalidOperationException($"{path}: providers[{i}].aesgcm key '{key.Name}': needs a name and a secret of 16, 24 or 32 bytes (base64), got {bytes.Length} bytes");
                }

                keys.Add((key.Name, bytes));
            }
        }

        if (encrypt == true && keys.Count == 0)
        {
            throw new InvalidOperationException($"{path}: the aesgcm provider has no keys");
        }

        return new SecretEncryption(path, keys, encrypt ?? false);
    }

    /// <summary>What is written for a Secret: encrypted with the first key, or as it is when identity comes first.</summary>
    public byte[] Protect(string ns, string name, byte[] json)
    {
        if (!_encrypt)
        {
            return json;
        }

        var (keyName, key) = _keys[0];
        var prefix = Encoding.ASCII.GetBytes(Prefix + keyName + ":");
        var output = new byte[prefix.Length + NonceSize + json.Length + TagSize];
        prefix.CopyTo(output, 0);
        var nonce = output.AsSpan(prefix.Length, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(key, TagSize);
        gcm.Encrypt(nonce, json, output.AsSpan(prefix.Length + NonceSize, json.Length), output.AsSpan(prefix.Length + NonceSize + json.Length, TagSize), StorageKey(ns, name));
        return output;
    }

    /// <summary>A stored Secret's JSON, decrypted with the key it names (plain JSON passes through).</summary>
    public byte[] Unprotect(string ns, string name, byte[] stored)
    {
        if (!stored.AsSpan().StartsWith(Encoding.ASCII.GetBytes(Prefix)))
        {
            return stored;
        }

        var rest = stored.AsSpan(Prefix.Length);
        var colon = rest.IndexOf((byte)':');
        var keyName = colon < 0 ? string.Empty : Encoding.ASCII.GetString(rest[..colon]);
        var key = _keys.FirstOrDefault(k => k.Name == keyName).Key
            ?? throw new InvalidOperationException($"secret {ns}/{name} is encrypted with key '{keyName}', which {_path} does not list");
        var body = rest[(colon + 1)..];
        if (body.Length < NonceSize + TagSize)
        {
            throw new InvalidOperationException($"secret {ns}/{name}: the stored value is truncated");
        }

        var plain = new byte[body.Length - NonceSize - TagSize];
        try
        {
            using var gcm = new AesGcm(key, TagSize);
            gcm.Decrypt(body[..NonceSize], body.Slice(NonceSize, plain.Length), body[^TagSize..], plain, StorageKey(ns, name));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidOperationException($"secret {ns}/{name} cannot be decrypted with key '{keyName}' of {_path}: wrong key or altered data");
        }

        return plain;
    }

    /// <summary>Whether a stored value is already in the form <see cref="Protect"/> writes now (no rewrite needed).</summary>
    public bool IsCurrent(byte[] stored) =>
        _encrypt
            ? stored.AsSpan().StartsWith(Encoding.ASCII.GetBytes(Prefix + _keys[0].Name + ":"))
            : !stored.AsSpan().StartsWith(Encoding.ASCII.GetBytes(Prefix));

    private static byte[] StorageKey(string ns, string name) => Encoding.UTF8.GetBytes($"/registry/secrets/{ns}/{name}");

    private sealed class Config
    {
        public string? Kind { get; set; }

        public List<ResourceSection> Resources { get; set; } = [];
    }

    private sealed class ResourceSection
    {
        public List<string> Resources { get; set; } = [];

        public List<Provider> Providers { get; set; } = [];
    }

    private sealed class Provider
    {
        public KeySet? Aesgcm { get; set; }

        public Dictionary<string, object>? Identity { get; set; }
    }

    private sealed class KeySet
    {
        public List<NamedKey> Keys { get; set; } = [];
    }

    private sealed class NamedKey
    {
        public string? Name { get; set; }

        public string? Secret { get; set; }
    }
}
