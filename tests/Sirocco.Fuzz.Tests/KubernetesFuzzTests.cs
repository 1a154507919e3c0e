using System.Text;
using Xunit.Abstractions;

namespace Sirocco.Fuzz.Tests;

/// <summary>The local cluster of the Kubernetes tests, started once for them.</summary>
public sealed class FuzzedCluster() : StartedTarget(new KubernetesTarget())
{
    internal KubernetesTarget Cluster => (KubernetesTarget)Target;
}

/// <summary>Generated Pod, ConfigMap and Secret requests to the local cluster: never a 5xx, every 4xx a Status with a message.</summary>
public sealed class KubernetesFuzzTests(FuzzedCluster cluster, ITestOutputHelper output) : IClassFixture<FuzzedCluster>
{
    private const string Pods = "/api/v1/namespaces/fuzz/pods?dryRun=All";
    private const string Base = "/api/v1/namespaces/fuzz/configmaps/fuzz-base?dryRun=All";
    private const string Pod = """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox:1.36"%s}]}}""";

    /// <summary>
    /// Requests the fuzzer found, each a 500 (or a hang) fixed since: method, path, content type, body, whether it is
    /// taken, and a part of the answer (the refusal's message, or the status code).
    /// </summary>
    public static TheoryData<string, string, string, string, bool, string> FoundInputs() => new()
    {
        // A merge patch with a key twice threw an ArgumentException; now the last value wins, as in a created object.
        { "PATCH", Base, "application/merge-patch+json", """{"data":{"k":"1"},"data":{"k":"2"}}""", true, string.Empty },
        // A protobuf body ending inside a varint threw an IndexOutOfRangeException.
        { "POST", "/api/v1/namespaces/fuzz/configmaps?dryRun=All", ProtobufEnvelope.MediaType, "6B3873000A0F0A0276311209436F6E6669674D617012280A1C0A0D66757AFFFFFFFFFFFFFFFFFF017A2D70726F746F2D636D5A0B0A03617070120466757A7A12060A016B12017620", false, "unable to decode protobuf body" },
        // YAML aliases expanded without bound (a hang), and a sequence as a map key threw an InvalidCastException.
        { "POST", "/api/v1/namespaces/fuzz/configmaps?dryRun=All", "application/yaml", Laughs(), false, "excessive aliasing" },
        { "POST", "/api/v1/namespaces/fuzz/configmaps?dryRun=All", "application/yaml", "metadata: {name: k}\ndata:\n  ? [a, b]\n  : c\n", false, "invalid map key" },
        // A JSON patch operation that is not an object threw an InvalidOperationException.
        { "PATCH", Base, "application/json-patch+json", """[["add"]]""", false, "cannot unmarshal array" },
        // An object where an IntOrString goes threw a NotSupportedException.
        { "POST", Pods, "application/json", Pod.Replace("%s", ""","startupProbe":{"tcpSocket":{"port":{"a":1}}}""", StringComparison.Ordinal), false, "cannot be handled as a Pod" },
        // "NaN" as a quantity threw a DivideByZeroException in the client model's quantity parser.
        { "POST", Pods, "application/json", Pod.Replace("%s", ""","resources":{"limits":{"cpu":"NaN"}}""", StringComparison.Ordinal), false, "quantities must match" },
        // A valid but huge quantity overflowed decimal when the QoS class compared requests and limits.
        { "POST", Pods, "application/json", Pod.Replace("%s", ""","resources":{"requests":{"cpu":"1e308"},"limits":{"cpu":"1e308"}}""", StringComparison.Ordinal), true, string.Empty },
        // An unknown field named with non-ASCII text made its warning header invalid: Kestrel threw.
        { "POST", Pods, "application/json", Pod.Replace("%s", ""","\u202Eé":1""", StringComparison.Ordinal), true, string.Empty },
        // Half a surrogate pair in a patch threw an InvalidOperationException where it was read.
        { "PATCH", Base, "application/strategic-merge-patch+json", """{"metadata":{"labels":{"a\ud800":"b"}}}""", false, "error decoding patch" },
    };

    [Fact]
    public async Task Generated_manifests_are_answered_without_server_errors()
    {
        await FuzzCheck.RunAsync(cluster.Target, defaultCases: 500, output);
    }

    [Theory]
    [MemberData(nameof(FoundInputs))]
    public async Task Requests_found_by_the_fuzzer_are_answered_cleanly(string method, string path, string contentType, string body, bool accepted, string message)
    {
        var bytes = contentType == ProtobufEnvelope.MediaType ? Convert.FromHexString(body) : Encoding.UTF8.GetBytes(body);
        var request = new KubernetesRequest(method, path, contentType, bytes);
        await FuzzCheck.FoundInputAsync(ct => cluster.Cluster.CheckAsync(request, ct), accepted, message, TimeSpan.FromSeconds(10));
    }

    private static string Laughs()
    {
        var text = new StringBuilder("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (var level = 'b'; level <= 'h'; level++)
        {
            text.Append(level).Append(": &").Append(level).Append(" [").AppendJoin(", ", Enumerable.Repeat("*" + (char)(level - 1), 9)).Append("]\n");
        }

        return text.Append("metadata: {name: laughs, labels: {x: *h}}\n").ToString();
    }
}
