using Sirocco.Templating;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>
/// A string literal means the same in a DAG file and in a template (both decode it as Python does), with the values
/// Python gives them.
/// </summary>
public sealed class StringEscapeTests
{
    public static TheoryData<string, string> Literals() => new()
    {
        { @"'a\nb\tc'", "a\nb\tc" },
        { @"'\101\60\7'", "A0\a" },
        { @"'\x41\u00e9\U0001F600'", "Aé\U0001F600" },
        { @"'\u20ac'", "€" },
        { @"'keep \q and \d'", @"keep \q and \d" },
        { "'it\\'s \\\"quoted\\\" \\\\ done'", "it's \"quoted\" \\ done" },
        { "'joined \\\nline'", "joined line" },
        { @"""dq \x7e""", "dq ~" },
    };

    [Theory]
    [MemberData(nameof(Literals))]
    public void A_literal_decodes_the_same_in_a_dag_file_and_a_template(string literal, string expected)
    {
        var dag = Support.One($"from airflow import DAG\nd = DAG('d', description={literal})\n");
        Assert.Equal(expected, dag.Description);
        Assert.Equal(expected, new TemplateEngine().Render("{{ " + literal + " }}", new TemplateContext()));
    }

    [Theory]
    [InlineData(@"'\x4'", "truncated \\x escape")]
    [InlineData(@"'\U00110000'", "illegal Unicode character")]
    [InlineData(@"'\N{DASH}'", "\\N{...} escapes are not supported")]
    public void A_bad_escape_is_the_same_error_in_both(string literal, string fragment)
    {
        var error = Support.Error($"from airflow import DAG\nd = DAG('d', description={literal})\n");
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        var e = Assert.ThrowsAny<Exception>(() => new TemplateEngine().Render("{{ " + literal + " }}", new TemplateContext()));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }
}
