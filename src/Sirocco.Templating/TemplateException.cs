using System.Globalization;

namespace Sirocco.Templating;

/// <summary>
/// A template failed to compile or render. <see cref="Reason"/> is the message Jinja2 or Airflow would give
/// (<c>'foo' is undefined</c>, <c>Variable my_value does not exist</c>); the full message adds the field, the line and
/// column, and the template text. When a Sirocco error (a missing Variable, Connection or option) caused it, that
/// error is the <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class TemplateException : SiroccoException
{
    /// <summary>Creates the exception; the message is composed from the parts.</summary>
    public TemplateException(string reason, string templateText, int line, int column, string? field, bool isSyntaxError, Exception? innerException = null)
        : base(Compose(reason, templateText, line, column, field), innerException ?? new InvalidOperationException(reason))
    {
        Reason = reason;
        TemplateText = templateText;
        Line = line;
        Column = column;
        Field = field;
        IsSyntaxError = isSyntaxError;
    }

    /// <summary>The bare error message, as Jinja2 or Airflow words it.</summary>
    public string Reason { get; }

    /// <summary>The text of the template that failed.</summary>
    public string TemplateText { get; }

    /// <summary>1-based line in <see cref="TemplateText"/>.</summary>
    public int Line { get; }

    /// <summary>1-based column in that line.</summary>
    public int Column { get; }

    /// <summary>The template field (for example <c>arguments[0]</c>) the template came from, when known.</summary>
    public string? Field { get; }

    /// <summary>True for errors found while compiling (syntax, unknown filter or tag), false for render errors.</summary>
    public bool IsSyntaxError { get; }

    private static string Compose(string reason, string text, int line, int column, string? field)
    {
        var shown = text.Length > 200 ? text[..200] + "…" : text;
        shown = shown.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);
        var where = string.Create(CultureInfo.InvariantCulture, $"line {line}, column {column}");
        return field is null
            ? $"{reason} ({where} of template '{shown}')"
            : $"{reason} (field '{field}', {where} of template '{shown}')";
    }
}
