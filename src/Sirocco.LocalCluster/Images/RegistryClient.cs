using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Images;

/// <summary>A user name and password for one registry, from an image pull secret.</summary>
internal sealed record RegistryCredential(string Username, string Password);

/// <summary>A pull that failed, with what kind of failure it was.</summary>
internal sealed class RegistryException : Exception
{
    public RegistryException(string message, RegistryFailure kind, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    public RegistryException()
    {
    }

    public RegistryException(string message)
        : base(message)
    {
    }

    public RegistryException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public RegistryFailure Kind { get; }
}

/// <summary>Why a pull failed.</summary>
internal enum RegistryFailure
{
    /// <summary>Anything else: a bad manifest, a digest mismatch, a server error.</summary>
    Other,

    /// <summary>The registry could not be reached (name, connection, TLS, timeout).</summary>
    Unreachable,

    /// <summary>The registry refused the credentials, or wants some and none were given.</summary>
    Unauthorized,

    /// <summary>The registry has no such repository, tag or digest.</summary>
    NotFound,
}

/// <summary>
/// A client of the OCI distribution API (Docker Registry HTTP API v2): resolves a name to a manifest (an index picks
/// this machine's linux platform) and copies its config and layers into the image store, each checked against its
/// digest. Authentication follows the registry's challenge: anonymous, basic, or a bearer token from the realm it
/// names (Docker Hub's, GCR's and Artifact Registry's flow), with the pull secret's credentials when it has any.
/// Registries are reached over HTTPS; a registry listed as insecure may also be plain HTTP or have a certificate that
/// does not verify, as Docker's <c>insecure-registries</c> allows.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class RegistryClient : IDisposable
{
    private static readonly string[] ManifestTypes =
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ];

    private readonly HttpClient _verified;
    private readonly HttpClient _insecure;
    private readonly HashSet<string> _insecureHosts;
    private readonly ConcurrentDictionary<string, (string Header, DateTimeOffset Expires)> _authorizations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _schemes = new(StringComparer.Ordinal);
    private readonly TimeSpan _requestTimeout;
    private readonly TimeSpan _stallTimeout;

    public RegistryClient(IEnumerable<string> insecureRegistries, string? caFile, TimeSpan requestTimeout, TimeSpan stallTimeout)
    {
        _insecureHosts = new HashSet<string>(insecureRegistries.Select(h => h.Trim()).Where(h => h.Length > 0), StringComparer.OrdinalIgnoreCase);
        _requestTimeout = requestTimeout;
        _stallTimeout = stallTimeout;
        var verified = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), AutomaticDecompression = DecompressionMethods.None };
        if (caFile is { Length: > 0 })
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            verified.SslOptions.CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            verified.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        }

        _verified = new HttpClient(verified) { Timeout = Timeout.InfiniteTimeSpan };
        var insecure = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
        insecure.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        _insecure = new HttpClient(insecure) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// Copies the image into the store and stores its record under the reference's name; returns the record and the
    /// bytes downloaded (0 when every blob was already there).
    /// </summary>
    public async Task<(ImageRecord Record, long Downloaded)> PullAsync(ImageReference image, RegistryCredential? credential, ImageStore store, CancellationToken token)
    {
        using var pending = store.Pending();
        try
        {
            return await PullPendingAsync(image, credential, store, pending, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new RegistryException($"{image}: the registry sent a manifest or config this client cannot read: {e.Message}", RegistryFailure.Other, e);
        }
    }

    private async Task<(ImageRecord Record, long Downloaded)> PullPendingAsync(ImageReference image, RegistryCredential? credential, ImageStore store, ImageStore.PendingBlobs pending, CancellationToken token)
    {
        var (manifestBytes, manifest) = await ManifestAsync(image, image.Reference, credential, token).ConfigureAwait(false);
        if (IsIndex(manifest))
        {
            var chosen = ChoosePlatform(image, manifest);
            (manifestBytes, manifest) = await ManifestAsync(image, chosen, credential, token).ConfigureAwait(false);
        }

        if (manifest["config"]?["digest"]?.GetValue<string>() is not { } configDigest || manifest["layers"] is not JsonArray layers)
        {
            throw new RegistryException($"{image}: the manifest is not an image manifest (schema 1 manifests are not supported; push the image again with a current client)", RegistryFailure.Other);
        }

        var digests = layers.Select(l => l?["digest"]?.GetValue<string>() ?? "").Prepend(configDigest).ToList();
        pending.Add("sha256:" + Convert.ToHexStringLower(SHA256.HashData(manifestBytes)));
        foreach (var digest in digests)
        {
            pending.Add(digest);
        }

        var manifestDigest = store.PutBlob(manifestBytes);
        long downloaded = 0;
        long size = manifest["config"]?["size"]?.GetValue<long>() ?? 0;
        foreach (var digest in digests)
        {
            if (!store.HasBlob(digest))
            {
                downloaded += await BlobAsync(image, digest, credential, store, token).ConfigureAwait(false);
            }
        }

        size += layers.Sum(l => l?["size"]?.GetValue<long>() ?? 0);
        var config = store.ReadJsonBlob(configDigest);
        var record = new ImageRecord
        {
            Name = image.ToString(),
            ManifestDigest = manifestDigest,
            ConfigDigest = configDigest,
            Layers = [.. layers.Select(l => l!["digest"]!.GetValue<string>())],
            DiffIds = [.. (config?["rootfs"]?["diff_ids"] as JsonArray ?? []).Select(d => d!.GetValue<string>())],
            Size = size,
            Config = ImageConfig.Parse(config),
            Stored = DateTimeOffset.UtcNow,
        };
        store.Save(record);
        return (record, downloaded);
    }

    public void Dispose()
    {
        _verified.Dispose();
        _insecure.Dispose();
    }

    private static bool IsIndex(JsonNode manifest) =>
        manifest["manifests"] is JsonArray && manifest["layers"] is null;

    private static string ChoosePlatform(ImageReference image, JsonNode index)
    {
        var arch = RuntimeInformation.OSArchitecture switch
        {
            Architecture.Arm64 => "arm64",
            Architecture.Arm => "arm",
            _ => "amd64",
        };
        var entries = index["manifests"]!.AsArray();
        var variant = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "v8" : null;
        var candidates = entries.Where(m => m?["platform"]?["os"]?.GetValue<string>() == "linux" && m?["platform"]?["architecture"]?.GetValue<string>() == arch).ToList();
        var match = candidates.FirstOrDefault(m => variant is null || m?["platform"]?["variant"]?.GetValue<string>() is null || m?["platform"]?["variant"]?.GetValue<string>() == variant)
            ?? candidates.FirstOrDefault();
        if (match?["digest"]?.GetValue<string>() is { } digest)
        {
            return digest;
        }

        var offered = string.Join(", ", entries.Select(m => $"{m?["platform"]?["os"]}/{m?["platform"]?["architecture"]}"));
        throw new RegistryException($"{image}: no manifest for linux/{arch} in the image index (it has {offered})", RegistryFailure.NotFound);
    }

    private async Task<(byte[] Bytes, JsonNode Manifest)> ManifestAsync(ImageReference image, string reference, RegistryCredential? credential, CancellationToken token)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(_requestTimeout);
        using var response = await SendAsync(image, $"/v2/{image.Repository}/manifests/{reference}", credential, accept: ManifestTypes, timeout.Token, token).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new RegistryException($"{image}: not found (the registry {image.ApiHost} has no manifest {reference} in {image.Repository})", RegistryFailure.NotFound);
        }

        await EnsureSuccessAsync(image, response, timeout.Token).ConfigureAwait(false);
        var bytes = await Bounded(() => response.Content.ReadAsByteArrayAsync(timeout.Token), image, token).ConfigureAwait(false);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        var expected = reference.StartsWith("sha256:", StringComparison.Ordinal) ? reference
            : response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
        if (expected is not null && expected != digest)
        {
            throw new RegistryException($"{image}: manifest digest mismatch: expected {expected}, got {digest}", RegistryFailure.Other);
        }

        try
        {
            return (bytes, JsonNode.Parse(bytes) ?? throw new System.Text.Json.JsonException("empty"));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new RegistryException($"{image}: the registry's manifest is not JSON: {e.Message}", RegistryFailure.Other, e);
        }
    }

    private async Task<long> BlobAsync(ImageReference image, string digest, RegistryCredential? credential, ImageStore store, CancellationToken token)
    {
        using var headers = CancellationTokenSource.CreateLinkedTokenSource(token);
        headers.CancelAfter(_requestTimeout);
        using var response = await SendAsync(image, $"/v2/{image.Repository}/blobs/{digest}", credential, accept: [], headers.Token, token).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new RegistryException($"{image}: blob {digest} not found in {image.ApiHost}/{image.Repository}", RegistryFailure.NotFound);
        }

        await EnsureSuccessAsync(image, response, headers.Token).ConfigureAwait(false);
        await using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        try
        {
            var (_, size) = await store.PutBlobAsync(body, digest, ReadWithStallLimitAsync, token).ConfigureAwait(false);
            return size;
        }
        catch (InvalidDataException e)
        {
            throw new RegistryException($"{image}: {e.Message}", RegistryFailure.Other, e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException && !token.IsCancellationRequested)
        {
            throw new RegistryException($"{image}: reading blob {digest} from {image.ApiHost} failed: {e.Message}", RegistryFailure.Unreachable, e);
        }
    }

    private async ValueTask<int> ReadWithStallLimitAsync(Stream stream, Memory<byte> buffer, CancellationToken token)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(token);
        stall.CancelAfter(_stallTimeout);
        try
        {
            return await stream.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new IOException($"no data for {_stallTimeout.TotalSeconds:0.#} s");
        }
    }

    private async Task<HttpResponseMessage> SendAsync(ImageReference image, string path, RegistryCredential? credential, string[] accept, CancellationToken timeout, CancellationToken token)
    {
        // An authorization is reused only with the very credential that won it.
        var key = credential is null ? $"{image.ApiHost}|{image.Repository}|"
            : $"{image.ApiHost}|{image.Repository}|{credential.Username}|{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(credential.Password)))}";
        var response = await SendOnceAsync(image, path, accept, _authorizations.TryGetValue(key, out var cached) && cached.Expires > DateTimeOffset.UtcNow ? cached.Header : null, timeout, token).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        var challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
        response.Dispose();
        var header = await AuthorizeAsync(image, challenge, credential, timeout, token).ConfigureAwait(false);
        response = await SendOnceAsync(image, path, accept, header.Header, timeout, token).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            response.Dispose();
            throw new RegistryException(Unauthorized(image, credential, "the registry refused the credentials"), RegistryFailure.Unauthorized);
        }

        _authorizations[key] = header;
        return response;
    }

    private async Task<HttpResponseMessage> SendOnceAsync(ImageReference image, string path, string[] accept, string? authorization, CancellationToken timeout, CancellationToken token)
    {
        var insecure = _insecureHosts.Contains(image.ApiHost) || _insecureHosts.Contains(image.Registry);
        var schemes = _schemes.TryGetValue(image.ApiHost, out var known) ? [known] : insecure ? new[] { "https", "http" } : ["https"];
        HttpRequestException? last = null;
        foreach (var scheme in schemes)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{scheme}://{image.ApiHost}{path}");
            foreach (var type in accept)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            try
            {
                var response = await Bounded(() => (insecure ? _insecure : _verified).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout), image, token).ConfigureAwait(false);
                _schemes[image.ApiHost] = scheme;
                return response;
            }
            catch (RegistryException e) when (e.InnerException is HttpRequestException h)
            {
                last = h;
            }
        }

        throw new RegistryException($"{image}: cannot reach the registry {image.ApiHost}: {Describe(last!)}", RegistryFailure.Unreachable, last);
    }

    private async Task<(string Header, DateTimeOffset Expires)> AuthorizeAsync(ImageReference image, AuthenticationHeaderValue? challenge, RegistryCredential? credential, CancellationToken timeout, CancellationToken token)
    {
        if (challenge is null)
        {
            throw new RegistryException(Unauthorized(image, credential, "the registry answered 401 without a challenge"), RegistryFailure.Unauthorized);
        }

        var basic = credential is null ? null : "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Password}"));
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return basic is null
                ? throw new RegistryException(Unauthorized(image, credential, "the registry wants a user name and password"), RegistryFailure.Unauthorized)
                : (basic, DateTimeOffset.MaxValue);
        }

        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new RegistryException($"{image}: the registry asks for {challenge.Scheme} authentication, which the local cluster does not speak", RegistryFailure.Unauthorized);
        }

        var parameters = ChallengeParameters(challenge.Parameter ?? "");
        if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out _))
        {
            throw new RegistryException($"{image}: the registry's bearer challenge names no token realm", RegistryFailure.Unauthorized);
        }

        var query = new List<string>();
        if (parameters.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.Add("scope=" + Uri.EscapeDataString(parameters.TryGetValue("scope", out var scope) ? scope : $"repository:{image.Repository}:pull"));
        using var request = new HttpRequestMessage(HttpMethod.Get, realm + (realm.Contains('?', StringComparison.Ordinal) ? "&" : "?") + string.Join('&', query));
        if (basic is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", basic);
        }

        var realmUri = new Uri(realm);
        var insecure = _insecureHosts.Contains(realmUri.Authority);
        if (realmUri.Scheme != Uri.UriSchemeHttps && !insecure)
        {
            // Credentials go to the realm: never in clear text to a host nobody listed as insecure.
            throw new RegistryException($"{image}: the registry names the token service {realm}, which is not HTTPS (list {realmUri.Authority} in [local_cluster] insecure_registries to allow it)", RegistryFailure.Unauthorized);
        }

        using var response = await Bounded(() => (insecure ? _insecure : _verified).SendAsync(request, timeout), image, token).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new RegistryException(Unauthorized(image, credential, $"the token service {new Uri(realm).Authority} answered {(int)response.StatusCode}"), RegistryFailure.Unauthorized);
        }

        await EnsureSuccessAsync(image, response, timeout).ConfigureAwait(false);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout).ConfigureAwait(false));
        var tokenValue = body?["token"]?.GetValue<string>() ?? body?["access_token"]?.GetValue<string>()
            ?? throw new RegistryException($"{image}: the token service {new Uri(realm).Authority} sent no token", RegistryFailure.Unauthorized);
        var lifetime = body?["expires_in"]?.GetValue<int>() is { } seconds and > 0 ? seconds : 60;
        return ("Bearer " + tokenValue, DateTimeOffset.UtcNow.AddSeconds(Math.Max(10, lifetime - 10)));
    }

    private static Dictionary<string, string> ChallengeParameters(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < text.Length)
        {
            var eq = text.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var name = text[i..eq].Trim().TrimStart(',').Trim();
            string value;
            if (eq + 1 < text.Length && text[eq + 1] == '"')
            {
                var close = text.IndexOf('"', eq + 2);
                close = close < 0 ? text.Length : close;
                value = text[(eq + 2)..close];
                i = close + 1;
            }
            else
            {
                var comma = text.IndexOf(',', eq);
                comma = comma < 0 ? text.Length : comma;
                value = text[(eq + 1)..comma].Trim();
                i = comma;
            }

            result[name] = value;
            i = text.IndexOf(',', Math.Min(i, text.Length)) is var next and >= 0 ? next + 1 : text.Length;
        }

        return result;
    }

    private static string Unauthorized(ImageReference image, RegistryCredential? credential, string what) =>
        credential is null
            ? $"{image}: unauthorized: {what}, and the pod has no image pull secret for {image.Registry}"
            : $"{image}: unauthorized: {what} (user \"{credential.Username}\" from the pod's image pull secret)";

    private static async Task EnsureSuccessAsync(ImageReference image, HttpResponseMessage response, CancellationToken token)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(token).ConfigureAwait(false);
        var kind = response.StatusCode == HttpStatusCode.Forbidden ? RegistryFailure.Unauthorized : RegistryFailure.Other;
        throw new RegistryException($"{image}: the registry {image.ApiHost} answered {(int)response.StatusCode} {response.ReasonPhrase}: {text[..Math.Min(text.Length, 300)].Trim()}", kind);
    }

    private static async Task<T> Bounded<T>(Func<Task<T>> call, ImageReference image, CancellationToken token)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!token.IsCancellationRequested)
        {
            throw new RegistryException($"{image}: the registry {image.ApiHost} did not answer in time", RegistryFailure.Unreachable, e);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException($"{image}: {Describe(e)}", RegistryFailure.Unreachable, e);
        }
    }

    private static string Describe(Exception e)
    {
        var messages = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (!messages.Contains(x.Message))
            {
                messages.Add(x.Message);
            }
        }

        return string.Join(": ", messages);
    }
}
