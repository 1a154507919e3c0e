using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sirocco.Google.Internal;
using Sirocco.Secrets;

namespace Sirocco.Google;

/// <summary>
/// Variables and Connections from Google Secret Manager, as the Google provider's <c>CloudSecretManagerBackend</c>:
/// the secret <c>{connections_prefix}{sep}{conn_id}</c> (default <c>airflow-connections-my_conn</c>) holds a
/// connection's URI or JSON, <c>{variables_prefix}{sep}{key}</c> a Variable's value; its latest version is read. A
/// prefix set to null turns that kind off. Answers (found or not) are kept for <c>[secrets] cache_ttl_seconds</c>.
/// </summary>
public sealed partial class SecretManagerBackend : ISecretsBackend, IDisposable
{
    /// <summary>The class path Airflow configurations name in <c>[secrets] backend</c>.</summary>
    public const string ClassPath = "airflow.providers.google.cloud.secrets.secret_manager.CloudSecretManagerBackend";

    private readonly GoogleRest _rest;
    private readonly ResolvedCredential _credential;
    private readonly string _project;
    private readonly string? _connectionsPrefix;
    private readonly string? _variablesPrefix;
    private readonly string _sep;
    private readonly SecretsCache _cache;

    /// <summary>
    /// Creates the backend from Airflow's <c>[secrets] backend_kwargs</c> (<c>connections_prefix</c>,
    /// <c>variables_prefix</c>, <c>sep</c>, <c>project_id</c>, <c>gcp_key_path</c>, <c>gcp_keyfile_dict</c>,
    /// <c>gcp_scopes</c>; application default credentials without a key).
    /// </summary>
    public SecretManagerBackend(GoogleCloud google, JsonObject backendKwargs, TimeSpan cacheTtl, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(google);
        ArgumentNullException.ThrowIfNull(backendKwargs);
        _cache = new SecretsCache(cacheTtl, time);
        string? Kwarg(string name, string? fallback) =>
            backendKwargs.TryGetPropertyValue(name, out var node) ? PlainJson.Text(node) : fallback;

        var extras = new JsonObject();
        foreach (var (kwarg, extra) in new[] { ("gcp_key_path", "key_path"), ("gcp_keyfile_dict", "keyfile_dict"), ("gcp_scopes", "scope") })
        {
            if (Kwarg(kwarg, null) is { } value)
            {
                extras[extra] = value;
            }
        }

        _credential = google.Credentials.FromExtras("[secrets] backend_kwargs", extras);
        _project = Kwarg("project_id", null) ?? _credential.Project
            ?? throw new SiroccoException("[secrets] backend_kwargs: no project_id, and the credentials name no project");
        _connectionsPrefix = Kwarg("connections_prefix", "airflow-connections");
        _variablesPrefix = Kwarg("variables_prefix", "airflow-variables");
        _sep = Kwarg("sep", "-") ?? "-";
        foreach (var prefix in new[] { _connectionsPrefix, _variablesPrefix })
        {
            if (prefix is not null && !SecretId().IsMatch(prefix + _sep + "x"))
            {
                throw new SiroccoException($"[secrets] backend_kwargs: '{prefix}{_sep}' cannot begin a Secret Manager secret id (letters, digits, - and _ only)");
            }
        }

        _rest = new GoogleRest(google.Options.SecretManagerEndpoint, "Secret Manager API", google.Options.RequestTimeout);
    }

    /// <inheritdoc/>
    public string Name => ClassPath;

    /// <summary>How many Secret Manager requests were sent (cache misses).</summary>
    public int Requests => _rest.Requests;

    /// <inheritdoc/>
    public Task<string?> GetVariableAsync(string key, CancellationToken cancellationToken) =>
        _variablesPrefix is null ? Task.FromResult<string?>(null) : GetAsync(_variablesPrefix + _sep + key, cancellationToken);

    /// <inheritdoc/>
    public Task<string?> GetConnectionAsync(string connId, CancellationToken cancellationToken) =>
        _connectionsPrefix is null ? Task.FromResult<string?>(null) : GetAsync(_connectionsPrefix + _sep + connId, cancellationToken);

    private async Task<string?> GetAsync(string secretId, CancellationToken cancellationToken)
    {
        if (!SecretId().IsMatch(secretId))
        {
            // Secret Manager cannot hold such a name, so it is not there (the provider logs and goes on likewise).
            return null;
        }

        return await _cache.GetAsync(secretId, AccessAsync, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> AccessAsync(string secretId)
    {
        JsonObject answer;
        try
        {
            answer = await _rest.SendAsync(HttpMethod.Get, $"v1/projects/{ContainerApi.Segment(_project)}/secrets/{secretId}/versions/latest:access", null, _credential, CancellationToken.None).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        var data = answer["payload"]?["data"]?.GetValue<string>()
            ?? throw new SiroccoException($"Secret Manager: projects/{_project}/secrets/{secretId} has a version without payload.data");
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(data));
        }
        catch (FormatException e)
        {
            throw new SiroccoException($"Secret Manager: projects/{_project}/secrets/{secretId}: payload.data is not base64: {e.Message}", e);
        }
    }

    /// <summary>Disposes the HTTP client.</summary>
    public void Dispose() => _rest.Dispose();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex SecretId();
}
