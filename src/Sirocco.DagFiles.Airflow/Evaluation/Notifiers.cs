using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>A notifier object of a DAG file (<c>send_smtp_notification(...)</c>), given as a callback: <see cref="Copy"/> makes its callback of an id.</summary>
internal sealed record NotifierValue(string TypeName, string Description, Func<string, BaseOperator> Copy) : IPyObject
{

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }

    public override string ToString() => $"<{TypeName} {Description}>";
}

/// <summary>The smtp and slack providers' notifiers, read from their keywords; they run natively (no Python, no pod).</summary>
internal static class Notifiers
{
    public const string Module = "airflow.providers.smtp.notifications.smtp";

    public const string SlackWebhookModule = "airflow.providers.slack.notifications.slack_webhook";

    public static NotifierValue SlackWebhook(Args a)
    {
        a.Check("SlackWebhookNotifier", 0, "slack_webhook_conn_id", "text", "blocks", "unfurl_links", "unfurl_media", "timeout", "proxy", "attachments", "retry_handlers");
        foreach (var unsupported in new[] { "proxy", "retry_handlers" })
        {
            if (a.Get(-1, unsupported) is not null)
            {
                throw new KeywordException(unsupported, $"SlackWebhookNotifier(): {unsupported} is not supported");
            }
        }

        var n = new SlackWebhookNotifier("notifier")
        {
            Blocks = Json(a.Get(-1, "blocks"), "blocks"),
            Attachments = Json(a.Get(-1, "attachments"), "attachments"),
            UnfurlLinks = a.Get(-1, "unfurl_links") is { } links ? links as bool? ?? throw new KeywordException("unfurl_links", "unfurl_links must be a bool") : null,
            UnfurlMedia = a.Get(-1, "unfurl_media") is { } media ? media as bool? ?? throw new KeywordException("unfurl_media", "unfurl_media must be a bool") : null,
            Timeout = a.Get(-1, "timeout") is { } t ? t is long l and > 0 and < 3600 ? (int)l : throw new KeywordException("timeout", "timeout must be a number of seconds (an int)") : null,
        };
        n.Text = Str(a.Get(-1, "text"), "text") ?? n.Text;
        n.SlackWebhookConnId = Str(a.Get(-1, "slack_webhook_conn_id"), "slack_webhook_conn_id") ?? n.SlackWebhookConnId;
        return new NotifierValue("SlackWebhookNotifier", $"on {n.SlackWebhookConnId}", n.CopyAs);
    }

    private static string? Json(object? value, string keyword) => value switch
    {
        null => null,
        string s => s, // a template that renders to JSON
        List<object?> or PyDict or PyTuple => System.Text.Json.JsonSerializer.Serialize(Convert.ToDotNet(value)),
        _ => throw new KeywordException(keyword, $"{keyword} must be a list or a dict, not {Interpreter.Describe(value)}"),
    };

    public static NotifierValue Smtp(Args a)
    {
        a.Check("SmtpNotifier", 2, "from_email", "to", "subject", "html_content", "files", "cc", "bcc", "mime_subtype", "mime_charset",
            "custom_headers", "smtp_conn_id", "auth_type", "template");
        if (a.Get(-1, "template") is not null)
        {
            throw new KeywordException("template", "SmtpNotifier(): template (a file rendered as the body) is not supported; give html_content");
        }

        if (a.Get(-1, "auth_type") is { } auth && !"basic".Equals(auth as string, StringComparison.Ordinal))
        {
            throw new KeywordException("auth_type", "SmtpNotifier(): auth_type: only 'basic' (the connection's login and password) is supported");
        }

        var n = new SmtpNotifier("notifier")
        {
            FromEmail = Str(a.Get(0, "from_email"), "from_email"),
            To = Addresses(a.Get(1, "to") ?? throw new KeywordException("to", "SmtpNotifier() needs to: an address or a list of them"), "to"),
            Files = a.Get(-1, "files") is { } files ? Convert.StringList(files, "files") : [],
            Cc = a.Get(-1, "cc") is { } cc ? Addresses(cc, "cc") : [],
            Bcc = a.Get(-1, "bcc") is { } bcc ? Addresses(bcc, "bcc") : [],
        };
        n.Subject = Str(a.Get(-1, "subject"), "subject") ?? n.Subject;
        n.HtmlContent = Str(a.Get(-1, "html_content"), "html_content") ?? n.HtmlContent;
        n.MimeSubtype = Str(a.Get(-1, "mime_subtype"), "mime_subtype") ?? n.MimeSubtype;
        n.MimeCharset = Str(a.Get(-1, "mime_charset"), "mime_charset") ?? n.MimeCharset;
        n.SmtpConnId = Str(a.Get(-1, "smtp_conn_id"), "smtp_conn_id") ?? n.SmtpConnId;
        if (a.Get(-1, "custom_headers") is { } headers)
        {
            n.CustomHeaders = headers is PyDict d && d.All(kv => PyEqualityComparer.Unkey(kv.Key) is string && kv.Value is string)
                ? d.ToDictionary(kv => (string)PyEqualityComparer.Unkey(kv.Key)!, kv => (string)kv.Value!, StringComparer.Ordinal)
                : throw new KeywordException("custom_headers", $"custom_headers must be a dict of str to str, not {Interpreter.Describe(headers)}");
        }

        return new NotifierValue("SmtpNotifier", "to " + string.Join(", ", n.To), n.CopyAs);
    }

    private static string? Str(object? value, string keyword) => value switch
    {
        null => null,
        string s => s,
        _ => throw new KeywordException(keyword, $"{keyword} must be a str, not {Interpreter.Describe(value)}"),
    };

    private static List<string> Addresses(object value, string keyword) => value is string s ? [s] : Convert.StringList(value, keyword);
}
