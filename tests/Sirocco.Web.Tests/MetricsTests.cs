using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Sirocco.Testing;

namespace Sirocco.Web.Tests;

/// <summary>Prometheus at /metrics: the scheduler's Airflow-named metrics and the server's own, scraped without login.</summary>
[Collection("web")]
public sealed class MetricsTests(WebFixture fixture)
{
    [Fact]
    public async Task Metrics_count_tries_and_runs_under_airflows_names()
    {
        using var user = fixture.Client("user");
        (await user.PatchAsync("/api/v1/dags/templated?update_mask=is_paused", new StringContent("""{"is_paused":false}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        (await user.PostAsync("/api/v1/dags/templated/dagRuns", new StringContent("""{"dag_run_id":"metrics_run","logical_date":"2024-09-09T00:00:00Z"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        await fixture.WaitForRunAsync("templated", "metrics_run", DagRunState.Success);

        using var anonymous = fixture.Client(null);
        string text;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            // A heartbeat beaten before the exporter started is not counted: wait for the next one (every few seconds).
            using var response = await anonymous.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            text = await response.Content.ReadAsStringAsync();
            if (Regex.IsMatch(text, @"(?m)^airflow_scheduler_heartbeat_total(\{[^}]*\})? \d+") || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.True(PrometheusText.Value(text, "airflow_ti_successes_total", "dag_id=\"templated\"") >= 1);
        Assert.True(PrometheusText.Value(text, "airflow_ti_start_total", "dag_id=\"templated\"") >= 1);
        Assert.True(PrometheusText.Value(text, "airflow_ti_finish_total", "dag_id=\"templated\"", "state=\"success\"") >= 1);
        Assert.True(PrometheusText.Value(text, "airflow_dagrun_duration_success_milliseconds_count", "dag_id=\"templated\"") >= 1);
        Assert.Matches(@"(?m)^airflow_executor_open_slots(\{[^}]*\})? \d+", text);
        Assert.Matches(@"(?m)^airflow_scheduler_heartbeat_total(\{[^}]*\})? \d+", text);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }
}
