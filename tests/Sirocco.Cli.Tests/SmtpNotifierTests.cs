using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Sirocco.Cli.Tests;

/// <summary>
/// <c>send_smtp_notification</c> as a task's and a DAG's callback, run natively by <c>sirocco dags test</c> against a
/// real SMTP server on loopback (the SmtpServer library): templates rendered with the callback's context, the
/// connection's login used, the password never printed, an unreachable server retried, logged, and harmless.
/// </summary>
public sealed class SmtpNotifierTests : IDisposable
{
    private const string Password = "smtp-s3cret-pass";
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-smtp-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private const string Dag = """
        from datetime import datetime

        from airflow import DAG
        from airflow.operators.bash import BashOperator
        from airflow.providers.smtp.notifications.smtp import send_smtp_notification

        with DAG(
            "notify",
            schedule=None,
            start_date=datetime(2024, 1, 1),
            on_failure_callback=send_smtp_notification(to="dag-owner@example.com", subject="Run {{ run_id }} of {{ dag.dag_id }} failed"),
        ):
            breaks = BashOperator(
                task_id="breaks",
                bash_command="exit 4",
                on_failure_callback=[
                    send_smtp_notification(
                        from_email=None,
                        to="ops@example.com; oncall@example.com",
                        cc=["lead@example.com"],
                        subject="[{{ ti.state }}] {{ dag.dag_id }}.{{ ti.task_id }} {{ ds }}",
                        html_content="<p>Try {{ ti.try_number }} of {{ ti.task_id }} failed</p>",
                        custom_headers={"X-Team": "data"},
                    ),
                    send_smtp_notification(from_email="a@example.com", to="b@example.com", smtp_conn_id="smtp_down"),
                ],
            )
        """;

    [Fact]
    public async Task Task_and_dag_notifiers_send_rendered_mail_through_the_connection_and_a_dead_server_changes_nothing()
    {
        var received = new ConcurrentQueue<(string From, string[] To, MimeMessage Message)>();
        var users = new ConcurrentQueue<string>();
        var port = FreePort();
        var options = new SmtpServerOptionsBuilder().ServerName("localhost")
            .Endpoint(b => b.Endpoint(new IPEndPoint(IPAddress.Loopback, port)).AllowUnsecureAuthentication(true).AuthenticationRequired(true))
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(received));
        services.Add(new DelegatingUserAuthenticator((user, password) =>
        {
            users.Enqueue(user);
            return user == "mailer" && password == Password;
        }));
        var server = new SmtpServer.SmtpServer(options, services);
        using var stop = new CancellationTokenSource();
        var serving = server.StartAsync(stop.Token);
        try
        {
            Directory.CreateDirectory(Path.Combine(_home, "dags"));
            await File.WriteAllTextAsync(Path.Combine(_home, "dags", "notify.py"), Dag);
            var env = new Dictionary<string, string>
            {
                ["SIROCCO_CONN_SMTP_DEFAULT"] = new JsonObject
                {
                    ["conn_type"] = "smtp", ["host"] = "127.0.0.1", ["port"] = port, ["login"] = "mailer", ["password"] = Password,
                    ["extra"] = new JsonObject { ["from_email"] = "airflow@example.com", ["disable_ssl"] = true, ["disable_tls"] = true },
                }.ToJsonString(),
                ["SIROCCO_CONN_SMTP_DOWN"] = new JsonObject
                {
                    ["conn_type"] = "smtp", ["host"] = "127.0.0.1", ["port"] = FreePort(),
                    ["extra"] = new JsonObject { ["disable_ssl"] = "true", ["disable_tls"] = "true", ["retry_limit"] = 2, ["timeout"] = 5 },
                }.ToJsonString(),
            };
            var (code, output) = await SiroccoProcess.RunAsync(_home, null, env, "dags", "test", "notify", "2024-01-06");

            Assert.True(output.Contains("finished: failed", StringComparison.Ordinal), output);
            Assert.NotEqual(0, code);
            Assert.DoesNotContain(Password, output, StringComparison.Ordinal);

            var mails = received.ToArray();
            Assert.Equal(2, mails.Length);
            var task = Assert.Single(mails, m => m.Message.Subject!.StartsWith('['));
            Assert.Equal("[failed] notify.breaks 2024-01-06", task.Message.Subject);
            Assert.Equal("airflow@example.com", task.From);
            Assert.Equal(["lead@example.com", "oncall@example.com", "ops@example.com"], task.To.Order(StringComparer.Ordinal));
            Assert.Equal("data", task.Message.Headers["X-Team"]);
            Assert.Contains("<p>Try 1 of breaks failed</p>", task.Message.HtmlBody, StringComparison.Ordinal);

            var dag = Assert.Single(mails, m => !m.Message.Subject!.StartsWith('['));
            Assert.Equal("Run manual__2024-01-06T00:00:00+00:00 of notify failed", dag.Message.Subject);
            Assert.Equal(["dag-owner@example.com"], dag.To);
            Assert.All(users, u => Assert.Equal("mailer", u));
            Assert.Equal(2, users.Count);

            // The notifier on a server that is not there: each retry and the failure logged, the task's state unchanged.
            Assert.Contains("failed (attempt 1 of 2)", output, StringComparison.Ordinal);
            Assert.Contains("could not send through 127.0.0.1:", output, StringComparison.Ordinal);
            Assert.Contains("breaks: failed", output, StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            server.Shutdown();
            await Task.WhenAny(serving, Task.Delay(TimeSpan.FromSeconds(10)));
        }
    }

    /// <summary>A loopback port free now (for a server the test starts).</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Store(ConcurrentQueue<(string From, string[] To, MimeMessage Message)> received) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            var message = await MimeMessage.LoadAsync(stream, cancellationToken);
            received.Enqueue((transaction.From.AsAddress(), [.. transaction.To.Select(t => t.AsAddress())], message));
            return SmtpResponse.Ok;
        }
    }
}
