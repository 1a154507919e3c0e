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

    public const string SlackModule = "airflow.providers.slack.notifications.slack";

    public static NotifierValue Slack(Args a)
    {
        a.Check("SlackNotifier", 0, "slack_conn_id", "text", "channel", "username", "icon_url", "blocks", "attachments", "base_url", "proxy", "timeout", "retry_handlers", "unfurl_links", "unfurl_media");
        Refuse(a, "SlackNotifier", "proxy", "retry_handlers");

        var n = new SlackNotifier("notifier")
        {
            Blocks = Json(a.Get(-1, "blocks"), "blocks"),
            Attachments = Json(a.Get(-1, "attachments"), "attachments"),
            Timeout = Seconds(a.Get(-1, "timeout")),
            UnfurlLinks = Bool(a.Get(-1, "unfurl_links"), "unfurl_links"),
            UnfurlMedia = Bool(a.Get(-1, "unfurl_media"), "unfurl_media"),
        };
        n.Text = Str(a.Get(-1, "text"), "text") ?? n.Text;
        n.Channel = Str(a.Get(-1, "channel"), "channel") ?? n.Channel;
        n.Username = Str(a.Get(-1, "username"), "username") ?? n.Username;
        n.IconUrl = Str(a.Get(-1, "icon_url"), "icon_url") ?? n.IconUrl;
        n.SlackConnId = Str(a.Get(-1, "slack_conn_id"), "slack_conn_id") ?? n.SlackConnId;
        if (a.Get(-1, "base_url") is not null)
        {
            throw new KeywordException("base_url", "SlackNotifier(): base_url: set the extra base_url of the Slack connection instead");
        }

        return new NotifierValue("SlackNotifier", $"to {n.Channel}", n.CopyAs);
    }

    private static void Refuse(Args a, string notifier, params string[] keywords)
    {
        foreach (var keyword in keywords.Where(a.Has))
        {
            if (a.Get(-1, keyword) is not null)
            {
                throw new KeywordException(keyword, $"{notifier}(): {keyword} is not supported");
            }
        }
    }

    private static bool? Bool(object? value, string keyword) => value switch
    {
        null => null,
        bool b => b,
        _ => throw new KeywordException(keyword, $"{keyword} must be a bool, not {Interpreter.Describe(value)}"),
    };

    private static int? Seconds(object? value) => value switch
    {
        null => null,
        long l and > 0 and < 3600 => (int)l,
        _ => throw new KeywordException("timeout", "timeout must be a number of seconds (an int)"),
    };

    public static NotifierValue SlackWebhook(Args a)
    {
        a.Check("SlackWebhookNotifier", 0, "slack_webhook_conn_id", "text", "blocks", "unfurl_links", "unfurl_media", "timeout", "proxy", "attachments", "retry_handlers");
        Refuse(a, "SlackWebhookNotifier", "proxy", "retry_handlers");

        var n = new SlackWebhookNotifier("notifier")
        {
            Blocks = Json(a.Get(-1, "blocks"), "blocks"),
            Attachments = Json(a.Get(-1, "attachments"), "attachments"),
            UnfurlLinks = Bool(a.Get(-1, "unfurl_links"), "unfurl_links"),
            UnfurlMedia = Bool(a.Get(-1, "unfurl_media"), "unfurl_media"),
            Timeout = Seconds(a.Get(-1, "timeout")),
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
