using System.Diagnostics;
using System.Text.Json.Nodes;
using Sirocco.Fidelity.Tests.Harness;
using Xunit.Abstractions;

namespace Sirocco.Fidelity.Tests;

/// <summary>
/// The official Python client (Debian's python3-kubernetes, the client Airflow's KubernetesPodOperator uses) called
/// as the operator and its PodManager call it (Clients/python_client.py), against the local cluster and, for the checks
/// that need no kubelet, the reference kube-apiserver.
/// </summary>
[Collection("clusters")]
public sealed class PythonClientTests(ClustersFixture fx, ITestOutputHelper output)
{
    private const string Python = "/usr/bin/python3";

    /// <summary>Every check of the script, so a check that stops running fails here too.</summary>
    private static readonly string[] ApiChecks =
    [
        "create_read_and_list_pod", "errors_404_409_422", "list_by_label_and_field_selector",
        "watch_from_resource_version_with_selector", "watch_bookmarks_and_timeout", "delete_with_grace_and_propagation",
        "events_by_field_selector",
    ];

    private static readonly string[] KubeletChecks =
    [
        "watch_too_old_is_410", "pod_runs_and_kubelet_events", "logs_with_every_option", "follow_logs_and_resume_as_airflow_does",
        "exec_with_stdin_as_the_xcom_sidecar", "exec_exit_codes_and_streams", "exec_with_a_terminal_and_resize",
    ];

    [Theory]
    [InlineData("local")]
    [InlineData("real")]
    public async Task The_python_client_works_as_airflow_calls_it(string where)
    {
        var endpoint = where == "local" ? fx.Local : fx.Real;
        var ns = await NamespaceAsync(endpoint, "py-" + where + "-" + Guid.NewGuid().ToString("n")[..6]);
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "python_client.py");
        var start = new ProcessStartInfo(Python, [script, where == "local" ? fx.LocalKubeconfig : fx.RealKubeconfig, ns, where])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} ran over 4 minutes: {await stdout}");
        }

        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine(string.Join('\n', lines));
        Assert.True(process.ExitCode == 0, $"python exited {process.ExitCode} (is python3-kubernetes installed?): {await stderr}");
        var failures = lines.Where(l => !l.StartsWith("PASS ", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        var expected = where == "local" ? ApiChecks.Concat(KubeletChecks) : ApiChecks;
        Assert.Equal(expected.Order(StringComparer.Ordinal), lines.Select(l => l[5..]).Order(StringComparer.Ordinal));
    }

    /// <summary>A namespace that allows every pod, once its default service account exists (the real server refuses pods before).</summary>
    private static async Task<string> NamespaceAsync(Endpoint endpoint, string name)
    {
        var body = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Namespace",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["pod-security.kubernetes.io/enforce"] = "privileged" } },
        }.ToJsonString();
        using (var created = await endpoint.Http.PostAsync("/api/v1/namespaces", new StringContent(body, System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.True(created.IsSuccessStatusCode, $"{endpoint.Name}: creating namespace {name}: {(int)created.StatusCode}");
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var response = await endpoint.Http.GetAsync($"/api/v1/namespaces/{name}/serviceaccounts/default");
            if (response.IsSuccessStatusCode && (endpoint.Name != "real" || JsonNode.Parse(await response.Content.ReadAsStringAsync())?["secrets"] is JsonArray { Count: > 0 }))
            {
                return name;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{endpoint.Name}: namespace {name} has no default service account after 60 s");
            }

            await Task.Delay(200);
        }
    }
}
