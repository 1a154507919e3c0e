using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Auth;

/// <summary>
/// Service-account tokens as the real API server issues them: RS256 JWTs signed with the cluster's own key
/// (<c>service-accounts.key</c>, 0600, made on first start), bound to the service account's uid and, for a pod's
/// token, to the pod's uid. A bound token stops working when its service account or its pod is gone.
/// </summary>
internal sealed class ServiceAccountTokens
{
    /// <summary>The issuer, and the audience a token gets when none is asked for (the real server's defaults).</summary>
    public const string Issuer = "https://kubernetes.default.svc.cluster.local";

    private readonly ClusterContext _cluster;
    private readonly RsaSecurityKey _key;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ConcurrentDictionary<string, Claims> _verified = new(StringComparer.Ordinal);

    public ServiceAccountTokens(ClusterContext cluster)
    {
        _cluster = cluster;
        var path = Path.Combine(cluster.StateDirectory, "service-accounts.key");
        var rsa = RSA.Create();
        if (File.Exists(path))
        {
            rsa.ImportFromPem(File.ReadAllText(path));
        }
        else if (OperatingSystem.IsLinux())
        {
            rsa.KeySize = 2048;
            Certificates.WritePrivate(path, rsa.ExportRSAPrivateKeyPem());
        }
        else
        {
            throw new PlatformNotSupportedException("The local cluster needs Linux.");
        }

        // As the real server: the key id is the unpadded base64url SHA-256 of the public key's DER form.
        _key = new RsaSecurityKey(rsa) { KeyId = Base64UrlEncoder.Encode(SHA256.HashData(rsa.ExportSubjectPublicKeyInfo())) };
    }

    /// <summary>What a verified token says.</summary>
    private sealed record Claims(string Namespace, string Account, string AccountUid, string? Pod, string? PodUid, DateTimeOffset Expires);

    /// <summary>A token for a service account, optionally bound to a pod.</summary>
    public (string Token, DateTimeOffset Expires) Issue(string ns, string account, string accountUid, IReadOnlyList<string> audiences, long seconds, string? pod = null, string? podUid = null)
    {
        var now = _cluster.Now;
        var expires = now.AddSeconds(seconds);
        var kubernetes = new Dictionary<string, object>
        {
            ["namespace"] = ns,
            ["serviceaccount"] = new Dictionary<string, object> { ["name"] = account, ["uid"] = accountUid },
        };
        if (pod is not null && podUid is not null)
        {
            kubernetes["pod"] = new Dictionary<string, object> { ["name"] = pod, ["uid"] = podUid };
        }

        var claims = new Dictionary<string, object>
        {
            ["aud"] = audiences.ToArray(),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["iss"] = Issuer,
            ["jti"] = Guid.NewGuid().ToString(),
            ["kubernetes.io"] = kubernetes,
            ["sub"] = $"system:serviceaccount:{ns}:{account}",
        };
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.RsaSha256),
        });
        return (token, expires);
    }

    /// <summary>
    /// The user a token names, or null when it is not a valid token of this cluster for the API's audience, has
    /// expired, or its service account or pod is gone (or was replaced by one of the same name).
    /// </summary>
    public async Task<UserInfo?> AuthenticateAsync(string token, ObjectStore store)
    {
        if (!_verified.TryGetValue(token, out var claims))
        {
            if (token.Count(c => c == '.') != 2)
            {
                return null;
            }

            var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
            {
                IssuerSigningKey = _key,
                ValidIssuer = Issuer,
                ValidAudience = Issuer,
                // The lifetime is checked below on the cluster's clock.
                ValidateLifetime = false,
            }).ConfigureAwait(false);
            if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
            {
                return null;
            }

            claims = Read(jwt);
            if (claims is null)
            {
                return null;
            }

            if (_verified.Count > 10_000)
            {
                _verified.Clear();
            }

            _verified[token] = claims;
        }

        if (claims.Expires <= _cluster.Now
            || store.Get("serviceaccounts", claims.Namespace, claims.Account) is not { } account
            || Meta.Get(account.ToJson(), "uid") != claims.AccountUid)
        {
            return null;
        }

        if (claims.Pod is not null
            && (store.Get("pods", claims.Namespace, claims.Pod) is not { } pod || Meta.Get(pod.ToJson(), "uid") != claims.PodUid))
        {
            return null;
        }

        return UserInfo.ServiceAccount(claims.Namespace, claims.Account);
    }

    private static Claims? Read(JsonWebToken jwt)
    {
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(jwt.EncodedPayload)) as JsonObject;
        if (payload?["kubernetes.io"] is not JsonObject k8s || payload["exp"]?.GetValue<long>() is not { } exp)
        {
            return null;
        }

        var ns = Meta.Str(k8s["namespace"]);
        var account = Meta.Str(k8s["serviceaccount"]?["name"]);
        var uid = Meta.Str(k8s["serviceaccount"]?["uid"]);
        if (string.IsNullOrEmpty(ns) || string.IsNullOrEmpty(account) || string.IsNullOrEmpty(uid))
        {
            return null;
        }

        return new Claims(ns, account, uid, Meta.Str(k8s["pod"]?["name"]), Meta.Str(k8s["pod"]?["uid"]), DateTimeOffset.FromUnixTimeSeconds(exp));
    }
}
