using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Sirocco.Cli.Tests;

/// <summary>
/// The slack provider's notifiers as callbacks, run natively by <c>sirocco dags test</c> against an HTTP server on
/// loopback: the message rendered with the callback's context, the token never printed, and a refusal that changes
/// nothing but the callback's log.
/// </summary>
public sealed class SlackWebhookNotifierTests : IDisposable
{
    private const string Token = "T0001/B0002/s3cretWebhookToken";
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-slack-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task A_failure_posts_the_rendered_message_to_the_webhook_and_a_refusing_webhook_changes_nothing()
    {
        await using var server = await LoopbackHttp.StartAsync((path, _, _) => path.Contains("revoked", StringComparison.Ordinal) ? (403, "invalid_token") : (200, "ok"));
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "slack.py"), """
            from datetime import datetime
            from airflow import DAG
            from airflow.operators.bash import BashOperator
            from airflow.providers.slack.notifications.slack_webhook import send_slack_webhook_notification

            with DAG("slack_alerts", schedule=None, start_date=datetime(2024, 1, 1)):
                BashOperator(
                    task_id="load",
                    bash_command="exit 2",
                    on_failure_callback=[
                        send_slack_webhook_notification(
                            text=":red_circle: {{ dag.dag_id }}.{{ ti.task_id }} {{ ti.state }} on {{ ds }}",
                            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*{{ ti.task_id }}* try {{ ti.try_number }}"}}],
                            unfurl_links=False,
                        ),
                        send_slack_webhook_notification(slack_webhook_conn_id="slack_revoked", text="never delivered"),
                    ],
                )
            """);
        var env = new Dictionary<string, string>
        {
            ["SIROCCO_CONN_SLACK_DEFAULT"] = new JsonObject { ["conn_type"] = "slackwebhook", ["host"] = $"http://127.0.0.1:{server.Port}/services", ["password"] = Token }.ToJsonString(),
            ["SIROCCO_CONN_SLACK_REVOKED"] = new JsonObject { ["conn_type"] = "slackwebhook", ["password"] = $"http://127.0.0.1:{server.Port}/revoked/hook" }.ToJsonString(),
        };
        var (_, output) = await SiroccoProcess.RunAsync(_home, null, env, "dags", "test", "slack_alerts", "2024-01-06");

        Assert.True(output.Contains("finished: failed", StringComparison.Ordinal), output);
        Assert.DoesNotContain("s3cretWebhookToken", output, StringComparison.Ordinal);
        var (path, _, body) = Assert.Single(server.Posts, p => p.Path.StartsWith("/services/", StringComparison.Ordinal));
        Assert.Equal("/services/" + Token, path);
        Assert.Equal(":red_circle: slack_alerts.load failed on 2024-01-06", body["text"]!.GetValue<string>());
        Assert.Equal("*load* try 1", body["blocks"]![0]!["text"]!["text"]!.GetValue<string>());
        Assert.False(body["unfurl_links"]!.GetValue<bool>());
        Assert.Contains("Posted a Slack message through http://127.0.0.1:" + server.Port, output, StringComparison.Ordinal);
        Assert.Contains("answered 403: invalid_token", output, StringComparison.Ordinal);
        Assert.Contains("load: failed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_slack_notification_posts_with_the_api_token_and_slacks_refusal_is_logged()
    {
        // Slack answers 200 with ok false when it refuses.
        await using var server = await LoopbackHttp.StartAsync((_, _, body) =>
            (200, body["channel"]!.GetValue<string>() == "#archived" ? """{"ok":false,"error":"is_archived"}""" : """{"ok":true}"""));
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "slack_api.py"), """
            from datetime import datetime
            from airflow import DAG
            from airflow.operators.bash import BashOperator
            from airflow.providers.slack.notifications.slack import send_slack_notification

            with DAG("slack_api", schedule=None, start_date=datetime(2024, 1, 1),
                     on_success_callback=send_slack_notification(channel="#data-{{ params.team }}", text="{{ dag.dag_id }} done: {{ reason }}"),
                     params={"team": "ops"}):
                BashOperator(task_id="work", bash_command="echo hi",
                             on_success_callback=send_slack_notification(channel="#archived", text="x", username="bot"))
            """);
        var env = new Dictionary<string, string>
        {
            ["SIROCCO_CONN_SLACK_API_DEFAULT"] = new JsonObject
            {
                ["conn_type"] = "slack", ["password"] = "xoxb-s3cret-api-token", ["extra"] = new JsonObject { ["base_url"] = $"http://127.0.0.1:{server.Port}/api/" },
            }.ToJsonString(),
        };
        var (_, output) = await SiroccoProcess.RunAsync(_home, null, env, "dags", "test", "slack_api", "2024-01-06");

        Assert.True(output.Contains("finished: success", StringComparison.Ordinal), output);
        Assert.DoesNotContain("xoxb-s3cret-api-token", output, StringComparison.Ordinal);
        Assert.Equal(2, server.Posts.Count);
        Assert.All(server.Posts, p => Assert.Equal(("/api/chat.postMessage", "Bearer xoxb-s3cret-api-token"), (p.Path, p.Auth)));
        var dag = Assert.Single(server.Posts, p => p.Body["channel"]!.GetValue<string>() == "#data-ops");
        Assert.Equal("slack_api done: success", dag.Body["text"]!.GetValue<string>());
        Assert.Equal("Airflow", dag.Body["username"]!.GetValue<string>());
        Assert.Contains("Slack refused the message to #archived: is_archived", output, StringComparison.Ordinal);
        Assert.Contains("Posted a Slack message to #data-ops", output, StringComparison.Ordinal);
    }
}

/// <summary>
/// An HTTP server on a loopback port (Kestrel, port chosen by the OS, so no other server can take it first) that
/// records each POST (path, Authorization, JSON body) and answers as told.
/// </summary>
internal sealed class LoopbackHttp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackHttp(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public ConcurrentQueue<(string Path, string? Auth, JsonNode Body)> Posts { get; } = new();

    public static async Task<LoopbackHttp> StartAsync(Func<string, string?, JsonNode, (int Status, string Answer)> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        LoopbackHttp? server = null;
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = JsonNode.Parse(await reader.ReadToEndAsync())!;
            var path = http.Request.Path.Value ?? "/";
            var auth = http.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null;
            server!.Posts.Enqueue((path, auth, body));
            var (status, text) = answer(path, auth, body);
            return Results.Text(text, statusCode: status);
        });
        await app.StartAsync();
        server = new LoopbackHttp(app, new Uri(app.Urls.First()).Port);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
