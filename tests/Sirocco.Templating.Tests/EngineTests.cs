namespace Sirocco.Templating.Tests;

public class EngineTests
{
    [Fact]
    public void Compiles_once_and_caches_by_text()
    {
        var engine = new TemplateEngine();
        var a = engine.Compile("{{ x }}");
        var b = engine.Compile(new string("{{ x }}".ToCharArray()));
        Assert.Same(a, b);
        Assert.Equal(1, engine.CachedCount);
        Assert.NotSame(a, engine.Compile("{{ y }}"));
    }

    [Fact]
    public void Cache_is_bounded()
    {
        var engine = new TemplateEngine(new TemplateEngineOptions { MaxCachedTemplates = 10 });
        for (var i = 0; i < 25; i++)
        {
            engine.Compile("t" + i);
        }

        Assert.True(engine.CachedCount <= 10);
    }

    [Fact]
    public void Syntax_errors_report_line_and_column()
    {
        var e = Assert.Throws<TemplateException>(() => new TemplateEngine().Compile("line one\nline {{ 1 + }} two", "arguments[1]"));
        Assert.True(e.IsSyntaxError);
        Assert.Equal(2, e.Line);
        Assert.Equal(13, e.Column);
        Assert.Equal("arguments[1]", e.Field);
        Assert.Contains("line 2, column 13", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Runtime_errors_point_at_the_failing_expression()
    {
        var context = new TemplateContext().Set("d", new Dictionary<string, object?> { ["a"] = 1 });
        var e = Assert.Throws<TemplateException>(() => new TemplateEngine().Render("{% for x in [1] %}\n  {{ d.a + d.b }}{% endfor %}", context));
        Assert.Equal("'dict object' has no attribute 'b'", e.Reason);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void Context_refuses_arbitrary_dotnet_objects()
    {
        Assert.Throws<ArgumentException>(() => new TemplateContext().Set("o", new object()));
        Assert.Throws<ArgumentException>(() => new TemplateContext().Set("t", typeof(string)));
    }

    [Fact]
    public void Host_functions_receive_plain_values()
    {
        var context = new TemplateContext().SetFunction("add", (args, kwargs) => (long)args[0]! + (long)(kwargs.GetValueOrDefault("b") ?? 0L));
        Assert.Equal("5", new TemplateEngine().Render("{{ add(2, b=3) }}", context));
    }

    [Fact]
    public void Renders_are_thread_safe()
    {
        var engine = new TemplateEngine();
        var results = new string[64];
        Parallel.For(0, results.Length, i =>
        {
            var ctx = new TemplateContext().Set("i", i);
            results[i] = engine.Render("{% for x in range_ %}{% endfor %}{{ i * 2 }}".Replace("range_", "[1, 2]", StringComparison.Ordinal), ctx);
        });
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (i * 2).ToString(System.Globalization.CultureInfo.InvariantCulture)), results);
    }
}
