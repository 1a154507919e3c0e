using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;

namespace Sirocco.Cli.Tests;

/// <summary>
/// <c>send_slack_webhook_notification</c> as a task's callback, run natively by <c>sirocco dags test</c>: the message
/// rendered with the callback's context is posted to the connection's webhook on loopback, the token never printed,
/// and a webhook that refuses changes nothing but the callback's log.
/// </summary>
public sealed class SlackWebhookNotifierTests : IDisposable
{
    private const string Token = "T0001/B0002/s3cretWebhookToken";
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-slack-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task A_failure_posts_the_rendered_message_to_the_webhook_and_a_refusing_webhook_changes_nothing()
    {
        var port = SmtpNotifierTests.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var posts = new ConcurrentQueue<(string Path, JsonNode Body)>();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync();
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return;
                }

                using var reader = new StreamReader(ctx.Request.InputStream);
                var path = ctx.Request.Url!.AbsolutePath;
                posts.Enqueue((path, JsonNode.Parse(await reader.ReadToEndAsync())!));
                ctx.Response.StatusCode = path.Contains("revoked", StringComparison.Ordinal) ? 403 : 200;
                await using (var w = new StreamWriter(ctx.Response.OutputStream))
                {
                    await w.WriteAsync(ctx.Response.StatusCode == 200 ? "ok" : "invalid_token");
                }

                ctx.Response.Close();
            }
        });
        try
        {
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
                ["SIROCCO_CONN_SLACK_DEFAULT"] = new JsonObject { ["conn_type"] = "slackwebhook", ["host"] = $"http://127.0.0.1:{port}/services", ["password"] = Token }.ToJsonString(),
                ["SIROCCO_CONN_SLACK_REVOKED"] = new JsonObject { ["conn_type"] = "slackwebhook", ["password"] = $"http://127.0.0.1:{port}/revoked/hook" }.ToJsonString(),
            };
            var (_, output) = await SiroccoProcess.RunAsync(_home, null, env, "dags", "test", "slack_alerts", "2024-01-06");

            Assert.True(output.Contains("finished: failed", StringComparison.Ordinal), output);
            Assert.DoesNotContain("s3cretWebhookToken", output, StringComparison.Ordinal);
            var (path, body) = Assert.Single(posts, p => p.Path.StartsWith("/services/", StringComparison.Ordinal));
            Assert.Equal("/services/" + Token, path);
            Assert.Equal(":red_circle: slack_alerts.load failed on 2024-01-06", body["text"]!.GetValue<string>());
            Assert.Equal("*load* try 1", body["blocks"]![0]!["text"]!["text"]!.GetValue<string>());
            Assert.False(body["unfurl_links"]!.GetValue<bool>());
            Assert.Contains("Posted a Slack message through http://127.0.0.1:" + port, output, StringComparison.Ordinal);
            Assert.Contains("answered 403: invalid_token", output, StringComparison.Ordinal);
            Assert.Contains("load: failed", output, StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await Task.WhenAny(serving, Task.Delay(TimeSpan.FromSeconds(10)));
        }
    }
}
