using System.Net;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Sirocco.Testing;

namespace Sirocco.LocalCluster.Tests;

/// <summary>The local cluster's <c>/metrics</c>, in the real API server's names, read by kubectl as an outside client.</summary>
[Collection("cluster")]
public sealed class MetricsEndpointTests(ClusterFixture fx)
{
    private async Task<string> ScrapeAsync()
    {
        var (code, output, err) = await fx.KubectlAsync("get", "--raw", "/metrics");
        Assert.True(code == 0, $"kubectl get --raw /metrics failed ({code}): {err}");
        return output;
    }

    [Fact]
    public async Task Requests_are_counted_by_verb_resource_and_code()
    {
        var before = await ScrapeAsync();
        long Created(string text) => Regex.IsMatch(text, "apiserver_request_total\\{code=\"201\"[^}]*resource=\"configmaps\"[^}]*verb=\"POST\"")
            ? PrometheusText.Value(text, "apiserver_request_total", "code=\"201\"", "resource=\"configmaps\"", "subresource=\"\"", "verb=\"POST\"")
            : 0;

        var name = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["a"] = "1" } }, "default");
        await fx.Client.CoreV1.ReadNamespacedConfigMapAsync(name, "default");
        var missing = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => fx.Client.CoreV1.ReadNamespacedConfigMapAsync(name + "-missing", "default"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Response.StatusCode);
        await fx.Client.CoreV1.ListNamespacedConfigMapAsync("default");

        var after = await ScrapeAsync();
        Assert.Equal(Created(before) + 1, Created(after));
        Assert.True(PrometheusText.Value(after, "apiserver_request_total", "code=\"200\"", "resource=\"configmaps\"", "verb=\"GET\"") >= 1);
        Assert.True(PrometheusText.Value(after, "apiserver_request_total", "code=\"404\"", "resource=\"configmaps\"", "verb=\"GET\"") >= 1);
        Assert.True(PrometheusText.Value(after, "apiserver_request_total", "code=\"200\"", "resource=\"configmaps\"", "verb=\"LIST\"") >= 1);
        Assert.True(PrometheusText.Value(after, "apiserver_request_duration_seconds_count", "resource=\"configmaps\"", "verb=\"POST\"") >= 1);
        Assert.True(PrometheusText.Value(after, "apiserver_storage_objects", "resource=\"configmaps\"") >= 1);
        Assert.True(PrometheusText.Value(after, "apiserver_storage_objects", "resource=\"namespaces\"") >= 4); // default, kube-system, kube-public, kube-node-lease
        Assert.Contains("# TYPE apiserver_request_total counter", after, StringComparison.Ordinal);
        Assert.Equal(0, PrometheusText.Value(after, "apiserver_current_inflight_requests", "request_kind=\"mutating\""));
    }

    [Fact]
    public async Task Metrics_need_the_clusters_credentials()
    {
        using var anonymous = fx.Http(withToken: false);
        using var response = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
