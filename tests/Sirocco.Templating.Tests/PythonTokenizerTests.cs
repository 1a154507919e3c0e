using Sirocco.Templating.Expressions;
using Sirocco.Templating.Python;

namespace Sirocco.Templating.Tests;

/// <summary>The template engine and the DAG-file reader read Python syntax with one tokenizer.</summary>
public class PythonTokenizerTests
{
    private static readonly Func<string, int, Exception> Fail = static (message, offset) => new SyntaxErrorException(message, offset);

    [Fact]
    public void A_string_literal_reads_the_same_in_a_template_tag_and_in_a_module()
    {
        const string literal = """'tab\there \x41\u00e9 \'q\' \\ \d'""";
        var template = "{{ " + literal + " -}} after";
        var inTag = PythonTokenizer.Tag(template, 2, "}}", out var after, out var strip);
        var inModule = PythonTokenizer.Module("x = " + literal + "\n", Fail);

        var fromTag = Assert.Single(inTag, t => t.Kind == PythonTokenKind.String);
        var fromModule = Assert.Single(inModule, t => t.Kind == PythonTokenKind.String);
        Assert.Equal("tab\there A\u00e9 'q' \\ \\d", fromTag.Value);
        Assert.Equal(fromModule with { Offset = fromTag.Offset }, fromTag);
        Assert.Equal(" after", template[after..]);
        Assert.True(strip);
    }

    [Fact]
    public void Each_caller_keeps_its_own_reading_of_the_same_text()
    {
        // Python reads "1." as a float and "#" as a comment; Jinja2 reads an integer, then '.', and has no comments.
        Assert.Equal([PythonTokenKind.Name, PythonTokenKind.Op, PythonTokenKind.Float, PythonTokenKind.Newline, PythonTokenKind.End], PythonTokenizer.Module("x = 1. # c", Fail).Select(t => t.Kind));
        Assert.Equal([PythonTokenKind.Int, PythonTokenKind.Op, PythonTokenKind.End], PythonTokenizer.JinjaExpression("1 .").Select(t => t.Kind));
        Assert.Equal("unexpected char '#' at 3", Assert.Throws<SyntaxErrorException>(() => PythonTokenizer.JinjaExpression("1. # c")).Message);

        // A tag ends at its closer once brackets balance, so "}}}" closes a dict and then the tag.
        var tag = PythonTokenizer.Tag("{{ {'a': 1}}}", 2, "}}", out var after, out _);
        Assert.Equal(["{", "a", ":", "1", "}", string.Empty], tag.Select(t => t.Kind == PythonTokenKind.String ? (string)t.Value! : t.Text));
        Assert.Equal(13, after);
    }
}
