using System.Diagnostics;

namespace Sirocco.Templating.Tests;

public class SandboxTests
{
    private static readonly TemplateContext Context = new TemplateContext().Set("s", "text").Set("items", new[] { 1, 2, 3 });

    [Theory]
    [InlineData("{{ s.__class__ }}")]
    [InlineData("{{ s._private }}")]
    [InlineData("{{ items.__len__() }}")]
    [InlineData("{{ ''.__class__.__mro__ }}")]
    [InlineData("{{ self }}")]
    [InlineData("{{ range(1000000) | length }}")]
    [InlineData("{{ lipsum() }}")]
    [InlineData("{{ cycler }}")]
    [InlineData("{% include 'x' %}")]
    [InlineData("{% import 'x' as y %}")]
    public void Nothing_outside_the_context_is_reachable(string template)
    {
        Assert.Throws<TemplateException>(() => new TemplateEngine().Render(template, Context));
    }

    [Fact]
    public void Loop_iterations_are_bounded()
    {
        var engine = new TemplateEngine(new TemplateEngineOptions { MaxLoopIterations = 1000 });
        var e = Assert.Throws<TemplateException>(() => engine.Render("{% for a in items * 100 %}{% for b in items * 100 %}{% endfor %}{% endfor %}", Context));
        Assert.Contains("loop iterations", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_size_is_bounded()
    {
        var engine = new TemplateEngine(new TemplateEngineOptions { MaxOutputLength = 10_000 });
        var e = Assert.Throws<TemplateException>(() => engine.Render("{% for a in items * 1000 %}{{ s * 10 }}{% endfor %}", Context));
        Assert.Contains("output exceeded", e.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ 'x' * 100000000 }}")]
    [InlineData("{{ [1] * 100000000 }}")]
    [InlineData("{{ 'ab'.replace('', 'x' * 4000000) }}")]
    [InlineData("{{ 2 ** 100 }}")]
    [InlineData("{{ 9223372036854775807 + 1 }}")]
    [InlineData("{{ '1'.zfill(999999999) }}")]
    public void Huge_values_fail_cleanly_and_fast(string template)
    {
        var sw = Stopwatch.StartNew();
        Assert.Throws<TemplateException>(() => new TemplateEngine().Render(template, Context));
        Assert.True(sw.ElapsedMilliseconds < 15_000, $"{template} took {sw.ElapsedMilliseconds} ms");
    }

    [Theory]
    [InlineData("{% set big = [0] * 4000000 %}{% for i in range(100000) %}{{ 5 in big }}{% endfor %}")]
    [InlineData("{% set big = 'x' * 4000000 %}{% for i in range(100000) %}{{ 'y' in big }}{% endfor %}")]
    [InlineData("{% set big = [0] * 4000000 %}{% for i in range(100000) %}{{ big == big + [] }}{% endfor %}")]
    [InlineData("{% set big = range(100000) | list %}{% for i in range(100000) %}{{ big | sort | length }}{% endfor %}")]
    [InlineData("{% set big = range(100000) | list %}{% for i in range(100000) %}{{ big | unique | list | length }}{% endfor %}")]
    [InlineData("{% set big = 'ab ' * 1000000 %}{% for i in range(100000) %}{{ big.split() | length }}{% endfor %}")]
    [InlineData("{{ '%999999s' * 1000000 % ((1,) * 1000000) }}")]
    [InlineData("{% set big = 'x' * 4000000 %}{% for i in range(100000) %}{% set y = big.upper() %}{% endfor %}")]
    [InlineData("{% set big = 'x' * 4000000 %}{% for i in range(100000) %}{% set y = big | upper %}{% endfor %}")]
    [InlineData("{% set big = [0] * 1000000 %}{% for i in range(100000) %}{% set y = big | tojson %}{% endfor %}")]
    [InlineData("{% set big = [0] * 1000000 %}{% for i in range(100000) %}{% set y = big | string %}{% endfor %}")]
    [InlineData("{% set big = [0] * 1000000 %}{% for i in range(100000) %}{% set y = big | sum %}{% endfor %}")]
    [InlineData("{% set big = [0] * 1000000 %}{% for i in range(100000) %}{% set y = big | batch(3) | list %}{% endfor %}")]
    public void Work_inside_bounded_loops_is_bounded_too(string template)
    {
        var sw = Stopwatch.StartNew();
        Assert.Throws<TemplateException>(() => new TemplateEngine().Render(template, Context));
        // Unbounded, these would run for hours; the bound leaves room for a loaded CI machine.
        Assert.True(sw.ElapsedMilliseconds < 30_000, $"took {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void Endless_macro_recursion_is_a_clean_error()
    {
        var e = Assert.Throws<TemplateException>(() => new TemplateEngine().Render("{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}", Context));
        Assert.Contains("nested more than", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Macro_fan_out_is_bounded_by_the_step_budget()
    {
        var engine = new TemplateEngine(new TemplateEngineOptions { MaxLoopIterations = 5000 });
        var template = "{% macro f(k) %}{% if k > 0 %}{{ f(k - 1) }}{{ f(k - 1) }}{% endif %}{% endmacro %}{{ f(30) }}";
        var sw = Stopwatch.StartNew();
        Assert.Contains("loop iterations", Assert.Throws<TemplateException>(() => engine.Render(template, Context)).Reason, StringComparison.Ordinal);
        Assert.True(sw.ElapsedMilliseconds < 15_000, $"took {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void Deep_nesting_is_a_clean_syntax_error_not_a_stack_overflow()
    {
        var engine = new TemplateEngine();
        Assert.True(Assert.Throws<TemplateException>(() => engine.Render("{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}", Context)).IsSyntaxError);
        Assert.True(Assert.Throws<TemplateException>(() => engine.Render("{{ " + string.Concat(Enumerable.Repeat("not ", 5000)) + "1 }}", Context)).IsSyntaxError);
        Assert.True(Assert.Throws<TemplateException>(() => engine.Render("{{ 1" + string.Concat(Enumerable.Repeat(" + 1", 5000)) + " }}", Context)).IsSyntaxError);
        Assert.True(Assert.Throws<TemplateException>(() => engine.Render("{{ s" + string.Concat(Enumerable.Repeat("|upper", 5000)) + " }}", Context)).IsSyntaxError);
        Assert.True(Assert.Throws<TemplateException>(() => engine.Render(string.Concat(Enumerable.Repeat("{% if 1 %}", 5000)) + string.Concat(Enumerable.Repeat("{% endif %}", 5000)), Context)).IsSyntaxError);
    }
}
