using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;

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
        await using var server = new LoopbackHttp((path, _, _) => path.Contains("revoked", StringComparison.Ordinal) ? (403, "invalid_token") : (200, "ok"));
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
        await using var server = new LoopbackHttp((_, _, body) =>
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

/// <summary>An HTTP server on a loopback port that records each POST (path, Authorization, JSON body) and answers as told.</summary>
internal sealed class LoopbackHttp : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    public LoopbackHttp(Func<string, string?, JsonNode, (int Status, string Answer)> answer)
    {
        Port = SmtpNotifierTests.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await _listener.GetContextAsync();
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                using var reader = new StreamReader(ctx.Request.InputStream);
                var body = JsonNode.Parse(await reader.ReadToEndAsync())!;
                var path = ctx.Request.Url!.AbsolutePath;
                var auth = ctx.Request.Headers["Authorization"];
                Posts.Enqueue((path, auth, body));
                var (status, text) = answer(path, auth, body);
                ctx.Response.StatusCode = status;
                await using (var w = new StreamWriter(ctx.Response.OutputStream))
                {
                    await w.WriteAsync(text);
                }

                ctx.Response.Close();
            }
        });
    }

    public int Port { get; }

    public ConcurrentQueue<(string Path, string? Auth, JsonNode Body)> Posts { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAny(_serving, Task.Delay(TimeSpan.FromSeconds(10)));
        _listener.Close();
        _stop.Dispose();
    }
}
