using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using Sirocco.Connections;

namespace Sirocco.Google.Internal;

/// <summary>A credential and where it came from (error messages name the source).</summary>
internal sealed record ResolvedCredential(GoogleCredential Credential, string Source, string? Project, string CacheKey)
{
    /// <summary>A bearer token for a request; the library caches it and refreshes it before it expires.</summary>
    public async Task<string> AccessTokenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await ((ITokenAccess)Credential).GetAccessTokenForRequestAsync(null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TokenResponseException or HttpRequestException or InvalidOperationException or IOException)
        {
            throw new SiroccoException($"Google credentials from {Source}: no access token ({e.Message})", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SiroccoException($"Google credentials from {Source}: the token request timed out", e);
        }
    }
}

/// <summary>
/// Google credentials of a <c>google_cloud_platform</c> connection, as the Google provider reads it: the extras
/// <c>key_path</c>, <c>keyfile_dict</c>, <c>scope</c> (comma-separated) and <c>project</c> (also with the
/// <c>extra__google_cloud_platform__</c> prefix); with neither key, application default credentials:
/// <c>GOOGLE_APPLICATION_CREDENTIALS</c>, gcloud's well-known file, then the metadata server (Workload Identity; its
/// host from <c>GCE_METADATA_HOST</c>). One credential per connection content, shared by every try, so a token is
/// requested once per lifetime.
/// </summary>
internal sealed class GoogleCredentials
{
    public const string DefaultConnId = "google_cloud_default";
    private const string CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";
    private const string ExtraPrefix = "extra__google_cloud_platform__";

    private readonly ConcurrentDictionary<string, Lazy<ResolvedCredential>> _cache = new(StringComparer.Ordinal);
    private readonly GoogleCloudOptions _options;

    public GoogleCredentials(GoogleCloudOptions options) => _options = options;

    /// <summary>
    /// The credential of connection <paramref name="connId"/>; with <paramref name="impersonationChain"/> (an
    /// operator's, else the connection's <c>impersonation_chain</c> extra: one service account, or a list whose last
    /// one is impersonated through the others), the token of the impersonated account.
    /// </summary>
    public async Task<ResolvedCredential> ResolveAsync(ConnectionAccessor? connections, string connId, CancellationToken cancellationToken, object? impersonationChain = null)
    {
        Connection? connection = null;
        if (connections is not null)
        {
            connection = await connections.FindAsync(connId, cancellationToken).ConfigureAwait(false);
        }

        if (connection is null && connId != DefaultConnId)
        {
            throw new ConnectionNotFoundException(connId);
        }

        var extras = connection?.ExtraDejson() ?? [];
        var chain = Chain(impersonationChain) ?? Chain(extras["impersonation_chain"] ?? extras[ExtraPrefix + "impersonation_chain"]);
        var key = connId + ":" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(extras.ToJsonString() + "|" + string.Join(',', chain ?? []) + "|" + KeyFileVersions(extras))));
        var lazy = _cache.GetOrAdd(key, k => new Lazy<ResolvedCredential>(() => Impersonate(Create(connId, extras, k), chain)));
        try
        {
            return lazy.Value;
        }
        catch (SiroccoException)
        {
            _cache.TryRemove(new KeyValuePair<string, Lazy<ResolvedCredential>>(key, lazy));
            throw;
        }
    }

    /// <summary>An impersonation chain as the provider takes it: one account, a comma-separated text, or a list.</summary>
    private static string[]? Chain(object? value)
    {
        var accounts = value switch
        {
            null => [],
            string text => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            JsonArray array => [.. array.Select(n => n?.ToString() ?? string.Empty).Where(a => a.Length > 0)],
            JsonValue v => v.ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            System.Collections.IEnumerable list => [.. list.Cast<object?>().Select(o => o?.ToString() ?? string.Empty).Where(a => a.Length > 0)],
            _ => [value.ToString() ?? string.Empty],
        };
        return accounts.Length == 0 ? null : accounts;
    }

    /// <summary>The credential of the chain's last account, obtained through IAM Credentials' generateAccessToken.</summary>
    private ResolvedCredential Impersonate(ResolvedCredential source, string[]? chain)
    {
        if (chain is null)
        {
            return source;
        }

        var target = chain[^1];
        try
        {
            var initializer = new ImpersonatedCredential.Initializer(target)
            {
                DelegateAccounts = chain[..^1],
                Scopes = [CloudPlatformScope],
            };
            if (_options.IamCredentialsEndpoint != GoogleCloudOptions.DefaultIamCredentialsEndpoint)
            {
                // The library names Google's IAM Credentials host itself; a private endpoint (or a test's) is reached
                // by sending its requests there instead.
                initializer.HttpClientFactory = new RedirectingHttpClientFactory(GoogleCloudOptions.DefaultIamCredentialsEndpoint, _options.IamCredentialsEndpoint);
            }

            var impersonated = source.Credential.Impersonate(initializer);
            return source with { Credential = impersonated, Source = $"{source.Source} impersonating {string.Join(" -> ", chain)}" };
        }
        catch (InvalidOperationException e)
        {
            throw new SiroccoException($"{source.Source}: cannot impersonate {target}: {e.Message}", e);
        }
    }

    /// <summary>Sends the requests of Google's own host <c>from</c> to <c>to</c> (same paths).</summary>
    private sealed class RedirectingHttpClientFactory(Uri from, Uri to) : global::Google.Apis.Http.HttpClientFactory
    {
        protected override HttpMessageHandler CreateHandler(global::Google.Apis.Http.CreateHttpClientArgs args) =>
            new Redirect(from, to) { InnerHandler = base.CreateHandler(args) };

        private sealed class Redirect(Uri from, Uri to) : DelegatingHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                if (request.RequestUri is { } uri && uri.Host == from.Host)
                {
                    request.RequestUri = new Uri(to, uri.PathAndQuery.TrimStart('/'));
                }

                return base.SendAsync(request, cancellationToken);
            }
        }
    }

    /// <summary>Credentials from extras that belong to no connection (a secrets backend's backend_kwargs), named by <paramref name="what"/>.</summary>
    public ResolvedCredential FromExtras(string what, JsonObject extras)
    {
        var key = what + ":" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(extras.ToJsonString() + "|" + KeyFileVersions(extras))));
        var lazy = _cache.GetOrAdd(key, k => new Lazy<ResolvedCredential>(() => Create(what, extras, k, quoted: false)));
        try
        {
            return lazy.Value;
        }
        catch (SiroccoException)
        {
            _cache.TryRemove(new KeyValuePair<string, Lazy<ResolvedCredential>>(key, lazy));
            throw;
        }
    }

    /// <summary>
    /// The versions (modification time and length) of the key files a credential would read, so that a key file
    /// rotated in place gives a new credential.
    /// </summary>
    private string KeyFileVersions(JsonObject extras)
    {
        var files = new List<string?>
        {
            (extras["key_path"] ?? extras[ExtraPrefix + "key_path"])?.ToString(),
            _options.Environment.GetValueOrDefault("GOOGLE_APPLICATION_CREDENTIALS"),
        };
        return string.Join(';', files.Where(f => !string.IsNullOrEmpty(f)).Select(f =>
        {
            var info = new FileInfo(f!);
            return info.Exists ? $"{f}:{info.LastWriteTimeUtc.Ticks}:{info.Length}" : f;
        }));
    }

    private ResolvedCredential Create(string connId, JsonObject extras, string cacheKey, bool quoted = true)
    {
        string? Extra(string name) =>
            PlainJson.Text(extras[name] ?? extras[ExtraPrefix + name]) is { Length: > 0 } text ? text : null;

        var scopes = Extra("scope") is { } scope
            ? scope.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [CloudPlatformScope];
        var project = Extra("project") ?? Extra("project_id");
        var what = quoted ? $"connection '{connId}'" : connId;
        if (Extra("key_path") is { } path && Extra("keyfile_dict") is not null)
        {
            throw new SiroccoException($"{what}: set key_path or keyfile_dict, not both");
        }

        if (Extra("key_path") is { } keyPath)
        {
            if (!keyPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                throw new SiroccoException($"{what}: key_path '{keyPath}' must be a JSON key file (.json), as the Google provider requires");
            }

            var json = ReadFile(keyPath, $"{what} key_path");
            return FromJson(json, $"{what} key_path {keyPath}", scopes, project, cacheKey);
        }

        if (Extra("keyfile_dict") is { } dict)
        {
            return FromJson(dict, $"{what} keyfile_dict", scopes, project, cacheKey);
        }

        return ApplicationDefault(scopes, project, cacheKey);
    }

    private ResolvedCredential ApplicationDefault(string[] scopes, string? project, string cacheKey)
    {
        var env = _options.Environment;
        if (env.TryGetValue("GOOGLE_APPLICATION_CREDENTIALS", out var file) && file.Length > 0)
        {
            return FromJson(ReadFile(file, "GOOGLE_APPLICATION_CREDENTIALS"), $"GOOGLE_APPLICATION_CREDENTIALS {file}", scopes, project, cacheKey);
        }

        var home = env.TryGetValue("HOME", out var h) && h.Length > 0 ? h : null;
        var wellKnown = home is null ? null : Path.Combine(home, ".config", "gcloud", "application_default_credentials.json");
        if (wellKnown is not null && File.Exists(wellKnown))
        {
            return FromJson(ReadFile(wellKnown, "gcloud's application default credentials"), $"application default credentials {wellKnown}", scopes, project, cacheKey);
        }

        // Workload Identity (GKE) or a Compute Engine VM: the metadata server; GCE_METADATA_HOST names another one.
        var host = env.TryGetValue("GCE_METADATA_HOST", out var m) && m.Length > 0 ? m : "metadata.google.internal";
        var tokenUrl = $"http://{host}/computeMetadata/v1/instance/service-accounts/default/token";
        var compute = new ComputeCredential(new ComputeCredential.Initializer(tokenUrl));
        var credential = GoogleCredential.FromComputeCredential(compute).CreateScoped(scopes);
        return new ResolvedCredential(credential, $"the metadata server {host}", project, cacheKey);
    }

    private static ResolvedCredential FromJson(string json, string source, string[] scopes, string? project, string cacheKey)
    {
        string type;
        string? keyProject;
        try
        {
            var node = JsonNode.Parse(json) as JsonObject ?? throw new SiroccoException($"{source}: not a JSON object");
            type = node["type"]?.GetValue<string>() ?? throw new SiroccoException($"{source}: the key has no \"type\"");
            keyProject = node["project_id"]?.GetValue<string>() ?? node["quota_project_id"]?.GetValue<string>();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new SiroccoException($"{source}: not a valid Google key file: {e.Message}", e);
        }

        GoogleCredential credential;
        try
        {
            credential = type switch
            {
                JsonCredentialParameters.ServiceAccountCredentialType =>
                    CredentialFactory.FromJson<ServiceAccountCredential>(json).ToGoogleCredential(),
                JsonCredentialParameters.AuthorizedUserCredentialType =>
                    CredentialFactory.FromJson<UserCredential>(json).ToGoogleCredential(),
                _ => throw new SiroccoException($"{source}: key type '{type}' is not supported (service_account or authorized_user)"),
            };
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or CryptographicException or System.Text.Json.JsonException or Newtonsoft.Json.JsonException)
        {
            throw new SiroccoException($"{source}: not a valid {type} key: {e.Message}", e);
        }

        return new ResolvedCredential(credential.CreateScoped(scopes), source, project ?? keyProject, cacheKey);
    }

    private static string ReadFile(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SiroccoException($"{what}: cannot read '{path}': {e.Message}", e);
        }
    }
}
