using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Google;
using Sirocco.Scheduler;
using Sirocco.Testing;

namespace Sirocco.Web.Tests;

/// <summary>
/// With remote logging, a try whose local log file is gone (another machine wrote it) is read from the bucket by the
/// API and the UI, through Google.Cloud.Storage.V1 against a fake Google on loopback; secrets stay masked.
/// </summary>
public sealed class RemoteLogTests(WebFixture fixture) : IClassFixture<WebFixture>
{
    [Fact]
    public async Task A_log_only_in_the_bucket_is_served_by_the_api_and_the_ui_masked()
    {
        await using var google = await FakeGoogle.StartAsync();
        var masker = new Masking.SecretMasker();
        masker.Add("bucket-s3cr3t-77");
        var connections = new ConnectionAccessor(
            new NoConnections(),
            new Dictionary<string, string>
            {
                ["AIRFLOW_CONN_GCS_LOGS"] = new JsonObject { ["conn_type"] = "google_cloud_platform", ["extra"] = new JsonObject { ["keyfile_dict"] = google.KeyFileJson() } }.ToJsonString(),
            },
            masker);
        using var cloud = new GoogleCloud(new GoogleCloudOptions { StorageApiEndpoint = google.Url });
        var remote = new GcsTaskLogs(cloud, connections, "gs://env-bucket/logs", "gcs_logs");

        var when = new DateTimeOffset(2021, 7, 1, 0, 0, 0, TimeSpan.Zero);
        await fixture.Store.CreateDagRunAsync(new DagRun { DagId = "remote_log_dag", RunId = "remote_run", RunType = DagRunType.Manual, LogicalDate = when, DataInterval = new(when, when), State = DagRunState.Success });
        await fixture.Store.SaveAsync(new Storage.StateBatch { TaskInstances = [Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "remote_log_dag", TaskId = "load", RunId = "remote_run", State = TaskInstanceState.Success, TryNumber = 1 })] });

        // Written on "another machine": uploaded from a file that is not below this server's log folder.
        var elsewhereDir = Directory.CreateTempSubdirectory("sirocco-remote-log-");
        using var removeElsewhere = new RemoveOnDispose(elsewhereDir.FullName);
        var elsewhere = Path.Combine(elsewhereDir.FullName, "1.log");
        await File.WriteAllTextAsync(elsewhere, "[t] {INFO} loaded 42 rows\n[t] {INFO} with bucket-s3cr3t-77\n");
        await remote.UploadAsync(elsewhere, TaskLogPaths.RemoteName("remote_log_dag", "load", "remote_run", 1), CancellationToken.None);
        Assert.NotNull(google.GetObject("env-bucket", "logs/dag_id=remote_log_dag/run_id=remote_run/task_id=load/attempt=1.log"));

        await using var server = await SiroccoWebServer.StartAsync(new WebServerOptions
        {
            Config = fixture.Config,
            Store = fixture.Store,
            Masker = masker,
            Urls = "http://127.0.0.1:0",
            RemoteLogs = remote,
        });
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("viewer:" + WebFixture.Password)));

        var api = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags/remote_log_dag/dagRuns/remote_run/taskInstances/load/logs/1"));
        Assert.Equal("[t] {INFO} loaded 42 rows\n[t] {INFO} with ***\n", api["content"]!.GetValue<string>());
        Assert.True(api["end_of_log"]!.GetValue<bool>());

        // The whole log as text is streamed from the downloaded copy.
        using var text = new HttpRequestMessage(HttpMethod.Get, "/api/v1/dags/remote_log_dag/dagRuns/remote_run/taskInstances/load/logs/1?full_content=true");
        text.Headers.Accept.ParseAdd("text/plain");
        using var plain = await client.SendAsync(text);
        var body = await plain.Content.ReadAsStringAsync();
        Assert.Contains("loaded 42 rows", body, StringComparison.Ordinal);
        Assert.DoesNotContain("bucket-s3cr3t-77", body, StringComparison.Ordinal);

        // A try with no log here or in the bucket reads as empty.
        await fixture.Store.SaveAsync(new Storage.StateBatch { TaskInstances = [Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "remote_log_dag", TaskId = "other", RunId = "remote_run", State = TaskInstanceState.Success, TryNumber = 1 })] });
        var none = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags/remote_log_dag/dagRuns/remote_run/taskInstances/other/logs/1"));
        Assert.Equal(string.Empty, none["content"]!.GetValue<string>());
        Assert.True(google.Errors.IsEmpty, string.Join('\n', google.Errors));
    }

    private sealed class NoConnections : IConnectionStore
    {
        public Connection? GetConnection(string connId) => null;

        public IReadOnlyList<Connection> ListConnections() => [];

        public void SetConnection(Connection connection) => throw new NotSupportedException();

        public bool DeleteConnection(string connId) => false;
    }
}
