using System.Globalization;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Sirocco.DagFiles.Airflow;

/// <summary>
/// Airflow's SMTP notifier (<c>send_smtp_notification</c> / <c>SmtpNotifier</c> of the smtp provider) as a callback
/// that needs no Python: renders its subject and body with the callback's context and sends one e-mail through the
/// SMTP connection (<c>smtp_default</c>). The connection's host, port, login and password are used with its extras
/// <c>from_email</c>, <c>disable_ssl</c> (false: TLS from the first byte), <c>disable_tls</c> (false: STARTTLS when not
/// SSL), <c>timeout</c> (30 s) and <c>retry_limit</c> (5), as Airflow's SMTP hook reads them. Every retry is logged.
/// </summary>
public sealed class SmtpNotifier : BaseOperator
{
    /// <summary>Airflow's default subject.</summary>
    public const string DefaultSubject = "DAG {{ dag.dag_id }} - Task {{ ti.task_id }} - Run ID {{ ti.run_id }} in State {{ ti.state }}";

    /// <summary>Sirocco's default body (Airflow's names a template file of the provider).</summary>
    public const string DefaultHtmlContent = "DAG <b>{{ dag.dag_id }}</b>, task <b>{{ ti.task_id }}</b>, run {{ ti.run_id }}: {{ ti.state }} (try {{ ti.try_number }}).<br>";

    private static readonly string[] Fields = [nameof(FromEmail), nameof(To), nameof(Subject), nameof(HtmlContent), nameof(Files), nameof(Cc), nameof(Bcc), nameof(MimeSubtype), nameof(MimeCharset), nameof(CustomHeaders)];

    /// <summary>Creates the notifier.</summary>
    /// <param name="taskId">Its id (the task's or the DAG's id and the callback kind).</param>
    public SmtpNotifier(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The sender; null takes the connection's <c>from_email</c> extra.</summary>
    public string? FromEmail { get; set; }

    /// <summary>The recipients (an entry may hold several, separated by <c>,</c> or <c>;</c>).</summary>
    public IList<string> To { get; set; } = [];

    /// <summary>The subject (a template).</summary>
    public string Subject { get; set; } = DefaultSubject;

    /// <summary>The HTML body (a template).</summary>
    public string HtmlContent { get; set; } = DefaultHtmlContent;

    /// <summary>Paths of files to attach.</summary>
    public IList<string> Files { get; set; } = [];

    /// <summary>Copy recipients.</summary>
    public IList<string> Cc { get; set; } = [];

    /// <summary>Blind copy recipients.</summary>
    public IList<string> Bcc { get; set; } = [];

    /// <summary>The multipart subtype of the message (<c>mixed</c>).</summary>
    public string MimeSubtype { get; set; } = "mixed";

    /// <summary>The charset of the body (<c>utf-8</c>).</summary>
    public string MimeCharset { get; set; } = "utf-8";

    /// <summary>More headers of the message.</summary>
    public IDictionary<string, string> CustomHeaders { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The SMTP connection.</summary>
    public string SmtpConnId { get; set; } = "smtp_default";

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateFields => Fields;

    /// <inheritdoc/>
    public override BaseOperator CloneForTry()
    {
        var copy = (SmtpNotifier)base.CloneForTry();
        copy.To = [.. To];
        copy.Files = [.. Files];
        copy.Cc = [.. Cc];
        copy.Bcc = [.. Bcc];
        copy.CustomHeaders = new Dictionary<string, string>(CustomHeaders, StringComparer.Ordinal);
        return copy;
    }

    /// <summary>The same notifier under another id (one per task or DAG that uses it).</summary>
    /// <param name="taskId">The new id.</param>
    public SmtpNotifier CopyAs(string taskId)
        => new(taskId)
        {
            FromEmail = FromEmail, To = [.. To], Subject = Subject, HtmlContent = HtmlContent, Files = [.. Files], Cc = [.. Cc], Bcc = [.. Bcc],
            MimeSubtype = MimeSubtype, MimeCharset = MimeCharset, CustomHeaders = new Dictionary<string, string>(CustomHeaders, StringComparer.Ordinal), SmtpConnId = SmtpConnId,
        };

    /// <summary>Sends the e-mail (the templates were rendered by the scheduler).</summary>
    /// <param name="context">The callback's context: the log, the connections.</param>
    /// <param name="cancellationToken">Stops the sending.</param>
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var conn = context.Connections.Get(SmtpConnId);
        var extra = conn.ExtraDejson();
        var from = FromEmail ?? ConnectionExtras.Str(extra["from_email"])
            ?? throw new SiroccoException($"SmtpNotifier {TaskId}: no sender: give from_email, or the extra from_email of connection '{SmtpConnId}'");
        var host = conn.Host ?? throw new SiroccoException($"SmtpNotifier {TaskId}: connection '{SmtpConnId}' has no host");
        var ssl = !ConnectionExtras.Bool(extra["disable_ssl"]);
        var tls = !ConnectionExtras.Bool(extra["disable_tls"]);
        var port = conn.Port ?? (ssl ? 465 : 25);
        var timeout = TimeSpan.FromSeconds(ConnectionExtras.Number(extra["timeout"]) ?? 30);
        var attempts = (int)(ConnectionExtras.Number(extra["retry_limit"]) ?? 5);

        using var message = Message(from);
        var recipients = string.Join(", ", message.To.Mailboxes.Select(m => m.Address));
        for (var attempt = 1; ; attempt++)
        {
            using var client = new SmtpClient { Timeout = (int)timeout.TotalMilliseconds };
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            try
            {
                var security = ssl ? SecureSocketOptions.SslOnConnect : tls ? SecureSocketOptions.StartTls : SecureSocketOptions.None;
                await client.ConnectAsync(host, port, security, limit.Token).ConfigureAwait(false);
                if (!string.IsNullOrEmpty(conn.Login))
                {
                    await client.AuthenticateAsync(conn.Login, conn.Password ?? string.Empty, limit.Token).ConfigureAwait(false);
                }

                await client.SendAsync(message, limit.Token).ConfigureAwait(false);
                await client.DisconnectAsync(quit: true, limit.Token).ConfigureAwait(false);
                context.Log($"Sent an e-mail to {recipients} through {host}:{port}: {message.Subject}");
                return null;
            }
            catch (Exception e) when (attempt < attempts && !cancellationToken.IsCancellationRequested && Transient(e))
            {
                context.Log($"Sending through {host}:{port} failed (attempt {attempt} of {attempts}): {Describe(e, timeout)}; retrying");
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not SiroccoException)
            {
                throw new SiroccoException($"SmtpNotifier {TaskId}: could not send through {host}:{port} (connection '{SmtpConnId}') after {attempt} attempt(s): {Describe(e, timeout)}", e);
            }
        }
    }

    private MimeMessage Message(string from)
    {
        var message = new MimeMessage { Subject = Subject };
        message.From.Add(MailboxAddress.Parse(from));
        AddAll(message.To, To, "to");
        AddAll(message.Cc, Cc, "cc");
        AddAll(message.Bcc, Bcc, "bcc");
        if (message.To.Count == 0)
        {
            throw new SiroccoException($"SmtpNotifier {TaskId}: no recipient in to");
        }

        foreach (var (name, value) in CustomHeaders)
        {
            message.Headers.Add(name, value);
        }

        var body = new Multipart(MimeSubtype) { new TextPart("html") { Text = HtmlContent } };
        ((TextPart)body[0]).ContentType.Charset = MimeCharset;
        foreach (var path in Files)
        {
            if (!File.Exists(path))
            {
                throw new SiroccoException($"SmtpNotifier {TaskId}: the file to attach {path} does not exist");
            }

            body.Add(new MimePart { Content = new MimeContent(new MemoryStream(File.ReadAllBytes(path))), ContentDisposition = new ContentDisposition(ContentDisposition.Attachment), FileName = Path.GetFileName(path) });
        }

        message.Body = body;
        return message;
    }

    private void AddAll(InternetAddressList list, IEnumerable<string> entries, string field)
    {
        foreach (var address in entries.SelectMany(e => e.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            list.Add(MailboxAddress.TryParse(address, out var parsed) ? parsed : throw new SiroccoException($"SmtpNotifier {TaskId}: {field}: '{address}' is not an e-mail address"));
        }
    }

    private static bool Transient(Exception e) => e is SocketException or IOException or TimeoutException or OperationCanceledException or SmtpProtocolException
        || e is SmtpCommandException { StatusCode: >= (SmtpStatusCode)400 and < (SmtpStatusCode)500 };

    private static string Describe(Exception e, TimeSpan timeout) => e is OperationCanceledException or TimeoutException
        ? $"no answer within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s ([connection extra] timeout)"
        : e.Message;
}
