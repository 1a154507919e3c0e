using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using Sirocco.LocalCluster;

namespace Sirocco.Fuzz;

/// <summary>
/// Generated Pod, ConfigMap and Secret requests sent over HTTPS, with the cluster's token, to an embedded local cluster
/// of its own (state in a temp folder), configured from its kubeconfig as any client is. Pods are only dry-run, so no container starts. Rules: never a 5xx; a 4xx is a
/// Kubernetes <c>Status</c> with a non-empty <c>message</c>; a 2xx is a JSON object.
/// </summary>
internal sealed class KubernetesTarget : IFuzzTarget
{
    private readonly string _home = FuzzFolders.Create("cluster");
    private readonly KubernetesManifestGenerator _generator = new();
    private Sirocco.LocalCluster.LocalCluster? _cluster;
    private HttpClient? _http;

    /// <inheritdoc/>
    public string Name => "kubernetes";

    /// <inheritdoc/>
    public TimeSpan CaseTimeLimit => TimeSpan.FromSeconds(10);

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _cluster = await Sirocco.LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home }, cancellationToken).ConfigureAwait(false);
        // As a client configured by the kubeconfig: its server, its token, and its CA checked by the official client's callback.
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(_cluster.KubeconfigPath);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
            certificate is not null && chain is not null && k8s.Kubernetes.CertificateValidationCallBack(sender, config.SslCaCerts, certificate, chain, errors);
        _http = new HttpClient(handler) { BaseAddress = new Uri(config.Host), Timeout = CaseTimeLimit };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", config.AccessToken);
        await CreateAsync("/api/v1/namespaces", $$$"""{"metadata":{"name":"{{{KubernetesManifestGenerator.Namespace}}}"}}""", cancellationToken).ConfigureAwait(false);
        await CreateAsync(
            $"/api/v1/namespaces/{KubernetesManifestGenerator.Namespace}/configmaps",
            $$$"""{"metadata":{"name":"{{{KubernetesManifestGenerator.BaseConfigMap}}}","labels":{"a":"b"}},"data":{"key":"value"}}""",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public PreparedCase Prepare(Random random, int index)
    {
        var request = _generator.Generate(random);
        return new PreparedCase(request.ToString(), ct => CheckAsync(request, ct));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }

        FuzzFolders.Delete(_home);
    }

    /// <summary>Sends one request; throws <see cref="FuzzFailureException"/> when the answer breaks a rule.</summary>
    public async Task<Verdict> CheckAsync(KubernetesRequest request, CancellationToken cancellationToken)
    {
        var answer = await HttpAnswer.SendAsync(_http!, request.Method, request.Path, request.ContentType, request.Body, closeConnection: false, cancellationToken)
            .ConfigureAwait(false);
        var (status, text) = (answer.Status, answer.Text);
        if (status >= 500 && !IsRealServersMergePatchError(request, status, text))
        {
            throw new FuzzFailureException($"answered {status}: {text}");
        }

        var body = answer.Json();
        if (status < 400)
        {
            return body is JsonObject ? Verdict.Accept : throw new FuzzFailureException($"answered {status} with a body that is not an object: {text}");
        }

        var detail = HttpAnswer.Member(body, "message");
        if (HttpAnswer.Member(body, "kind") != "Status" || string.IsNullOrWhiteSpace(detail))
        {
            throw new FuzzFailureException($"answered {status} without a Status that has a message: {text}");
        }

        return Verdict.Refuse($"{status} {detail}");
    }

    /// <summary>
    /// Kubernetes v1.20 answers a merge patch it cannot read as JSON with 500 "Invalid JSON Patch"; the local cluster gives
    /// the same answer on purpose (its fidelity corpus compares it with the real server), so that 500 is no failure here.
    /// </summary>
    private static bool IsRealServersMergePatchError(KubernetesRequest request, int status, string text) =>
        status == 500 && request.ContentType == "application/merge-patch+json" && text.Contains("\"message\":\"Invalid JSON Patch\"", StringComparison.Ordinal);

    private async Task CreateAsync(string path, string json, CancellationToken cancellationToken)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http!.PostAsync(new Uri(path, UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }
}
