namespace Sirocco.Templating.Tests;

public class PythonExpressionTests
{
    [Theory]
    [InlineData("1 + 2 * 3", 7L)]
    [InlineData("'a' + 'b'", "ab")]
    [InlineData("7 // 2", 3L)]
    [InlineData("-7 % 3", 2L)]
    [InlineData("x if x > 1 else 0", 5L)]
    [InlineData("name.upper()", "POD")]
    [InlineData("None is None", true)]
    [InlineData("x is not None", true)]
    [InlineData("'k' in cfg", true)]
    [InlineData("cfg['k'][1]", 2L)]
    [InlineData("-2 ** 2", -4L)]
    [InlineData("2 ** 3 ** 2", 512L)]
    [InlineData("2 ** -1", 0.5)]
    [InlineData("-x ** 2 + 1", -24L)]
    public void Evaluates_python_expressions_over_given_names(string text, object expected)
    {
        var names = new Dictionary<string, object?>
        {
            ["x"] = 5,
            ["name"] = "pod",
            ["cfg"] = new Dictionary<string, object?> { ["k"] = new[] { 1, 2 } },
        };
        Assert.Equal(expected, PythonExpression.Parse(text).Evaluate(names));
    }

    [Theory]
    [InlineData("x | upper")]
    [InlineData("'a' ~ 'b'")]
    public void Python_syntax_has_no_jinja_operators(string text)
    {
        Assert.Throws<TemplateException>(() => PythonExpression.Parse(text));
    }

    [Fact]
    public void Jinja_syntax_keeps_jinja2s_left_to_right_power()
    {
        Assert.Equal(64L, PythonExpression.Parse("2 ** 3 ** 2", ExpressionSyntax.Jinja).Evaluate());
        Assert.Equal(4L, PythonExpression.Parse("-2 ** 2", ExpressionSyntax.Jinja).Evaluate());
    }

    [Fact]
    public void Python_syntax_reads_lower_case_constants_as_names()
    {
        var e = Assert.Throws<TemplateException>(() => PythonExpression.Parse("true").Evaluate());
        Assert.Equal("'true' is undefined", e.Reason);
        Assert.Equal(true, PythonExpression.Parse("true", ExpressionSyntax.Jinja).Evaluate());
        Assert.Equal("AB", PythonExpression.Parse("x | upper", ExpressionSyntax.Jinja).Evaluate(new Dictionary<string, object?> { ["x"] = "ab" }));
    }

    [Fact]
    public void Results_map_to_plain_dotnet_values()
    {
        var value = PythonExpression.Parse("{'a': [1, 2.5, None, True], 'b': (1, 'x')}").Evaluate();
        var dict = Assert.IsType<Dictionary<string, object?>>(value);
        Assert.Equal(new List<object?> { 1L, 2.5, null, true }, dict["a"]);
        Assert.Equal(new object?[] { 1L, "x" }, dict["b"]);
    }

    [Fact]
    public void Errors_carry_the_position()
    {
        var e = Assert.Throws<TemplateException>(() => PythonExpression.Parse("[1,\n 2 +]"));
        Assert.True(e.IsSyntaxError);
        Assert.Equal(2, e.Line);
        var r = Assert.Throws<TemplateException>(() => PythonExpression.Parse("1 +\n  missing").Evaluate());
        Assert.Equal("'missing' is undefined", r.Reason);
        Assert.Equal(2, r.Line);
        Assert.Equal(3, r.Column);
    }

    [Theory]
    [InlineData("42", 42L)]
    [InlineData("-1.5", -1.5)]
    [InlineData("'text'", "text")]
    [InlineData("True", true)]
    public void Literal_eval_accepts_literals(string text, object expected)
    {
        Assert.True(PythonExpression.TryLiteral(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("x")]
    [InlineData("1 + 2")]
    [InlineData(" 1")]
    [InlineData("f()")]
    [InlineData("hello world")]
    public void Literal_eval_refuses_everything_else(string text)
    {
        Assert.False(PythonExpression.TryLiteral(text, out _));
    }
}
