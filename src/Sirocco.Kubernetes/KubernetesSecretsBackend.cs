using System.Text;
using System.Text.Json.Nodes;
using k8s;
using Sirocco.Configuration;
using Sirocco.Kubernetes.Internal;
using Sirocco.Secrets;

namespace Sirocco.Kubernetes;

/// <summary>
/// Variables and Connections from Kubernetes Secrets, as the cncf.kubernetes provider's
/// <c>KubernetesSecretsBackend</c>: a Secret labelled <c>airflow.apache.org/connection-id=my_conn</c> holds a
/// connection's URI or JSON under the data key <c>value</c>; one labelled <c>airflow.apache.org/variable-key=my_var</c>
/// a Variable's value. Secrets are found by label, so their names do not matter. The provider needs to run inside the
/// cluster; Sirocco finds the cluster as a task does without a connection (<c>[kubernetes] in_cluster</c>, the pod's
/// service account, <c>$KUBECONFIG</c> or <c>~/.kube/config</c>) or from <c>config_file</c> in backend_kwargs.
/// </summary>
public sealed class KubernetesSecretsBackend : ISecretsBackend, IDisposable
{
    /// <summary>The class path Airflow configurations name in <c>[secrets] backend</c>.</summary>
    public const string ClassPath = "airflow.providers.cncf.kubernetes.secrets.kubernetes_secrets_backend.KubernetesSecretsBackend";

    private readonly SiroccoConfig _config;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly SecretsCache _cache;
    private readonly string? _configFile;
    private readonly string? _namespace;
    private readonly string? _connectionsLabel;
    private readonly string? _variablesLabel;
    private readonly string _connectionsDataKey;
    private readonly string _variablesDataKey;
    private readonly SemaphoreSlim _clientLock = new(1, 1);
    private Tuple<k8s.Kubernetes, string>? _client;

    /// <summary>
    /// Creates the backend from <c>[secrets] backend_kwargs</c>: <c>namespace</c>, <c>connections_label</c>,
    /// <c>variables_label</c> (null turns a kind off), <c>connections_data_key</c>, <c>variables_data_key</c>, and
    /// Sirocco's <c>config_file</c> (a kubeconfig).
    /// </summary>
    public KubernetesSecretsBackend(JsonObject backendKwargs, SiroccoConfig config, IReadOnlyDictionary<string, string> environment, TimeSpan cacheTtl, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(backendKwargs);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        _config = config;
        _environment = environment;
        _cache = new SecretsCache(cacheTtl, time);
        string? Kwarg(string name, string? fallback) =>
            backendKwargs.TryGetPropertyValue(name, out var node) ? PlainJson.Text(node) : fallback;

        _configFile = Kwarg("config_file", null);
        _namespace = Kwarg("namespace", null);
        _connectionsLabel = Kwarg("connections_label", "airflow.apache.org/connection-id");
        _variablesLabel = Kwarg("variables_label", "airflow.apache.org/variable-key");
        _connectionsDataKey = Kwarg("connections_data_key", "value") ?? "value";
        _variablesDataKey = Kwarg("variables_data_key", "value") ?? "value";
    }

    /// <inheritdoc/>
    public string Name => ClassPath;

    /// <inheritdoc/>
    public Task<string?> GetVariableAsync(string key, CancellationToken cancellationToken) =>
        _variablesLabel is null ? Task.FromResult<string?>(null) : _cache.GetAsync($"{_variablesLabel}={key}", s => FindAsync(s, _variablesDataKey), cancellationToken);

    /// <inheritdoc/>
    public Task<string?> GetConnectionAsync(string connId, CancellationToken cancellationToken) =>
        _connectionsLabel is null ? Task.FromResult<string?>(null) : _cache.GetAsync($"{_connectionsLabel}={connId}", s => FindAsync(s, _connectionsDataKey), cancellationToken);

    private async Task<string?> FindAsync(string selector, string dataKey)
    {
        var value = selector[(selector.IndexOf('=', StringComparison.Ordinal) + 1)..];
        if (!LabelSanitizer.IsValidLabelValue(value))
        {
            // No Secret can carry such a label value, so it is not there.
            return null;
        }

        var (client, ns) = await ClientAsync().ConfigureAwait(false);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        k8s.Models.V1SecretList list;
        try
        {
            list = await client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: selector, cancellationToken: bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            throw new SiroccoException($"{ClassPath}: listing Secrets labelled {selector} in namespace {ns} of {client.BaseUri} failed: {e.Message}", e);
        }

        var secret = list.Items.OrderBy(s => s.Metadata.Name, StringComparer.Ordinal).FirstOrDefault();
        if (secret is null)
        {
            return null;
        }

        return secret.Data?.TryGetValue(dataKey, out var bytes) == true
            ? Encoding.UTF8.GetString(bytes)
            : throw new SiroccoException($"{ClassPath}: Secret {ns}/{secret.Metadata.Name} (labelled {selector}) has no data key '{dataKey}'");
    }

    private async Task<(k8s.Kubernetes Client, string Namespace)> ClientAsync()
    {
        if (Volatile.Read(ref _client) is { } ready)
        {
            return (ready.Item1, ready.Item2);
        }

        await _clientLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_client is null)
            {
                // No connections: they are what this backend serves.
                var resolved = await ClientResolver.ResolveAsync(
                    new KubernetesPodOperator("secrets-backend") { ConfigFile = _configFile, KubernetesConnId = null },
                    null,
                    _config,
                    _environment,
                    CancellationToken.None).ConfigureAwait(false);
                resolved.Configuration.HttpClientTimeout = TimeSpan.FromSeconds(30);
                Volatile.Write(ref _client, Tuple.Create(new k8s.Kubernetes(resolved.Configuration), _namespace ?? resolved.DefaultNamespace));
            }

            return (_client!.Item1, _client.Item2);
        }
        finally
        {
            _clientLock.Release();
        }
    }

    /// <summary>Disposes the client.</summary>
    public void Dispose()
    {
        _client?.Item1.Dispose();
        _clientLock.Dispose();
    }
}
