using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>A notifier object of a DAG file (<c>send_smtp_notification(...)</c>), given as a callback.</summary>
internal sealed record NotifierValue(SmtpNotifier Notifier) : IPyObject
{
    public string TypeName => "SmtpNotifier";

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }

    public override string ToString() => $"<SmtpNotifier to {string.Join(", ", Notifier.To)}>";
}

/// <summary>The smtp provider's notifier, read from its keywords; it runs natively (no Python, no pod).</summary>
internal static class Notifiers
{
    public const string Module = "airflow.providers.smtp.notifications.smtp";

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

        return new NotifierValue(n);
    }

    private static string? Str(object? value, string keyword) => value switch
    {
        null => null,
        string s => s,
        _ => throw new KeywordException(keyword, $"{keyword} must be a str, not {Interpreter.Describe(value)}"),
    };

    private static List<string> Addresses(object value, string keyword) => value is string s ? [s] : Convert.StringList(value, keyword);
}
