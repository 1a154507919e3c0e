using Sirocco.Templating.Expressions;

namespace Sirocco.Templating.Tests;

/// <summary>The fixture's template files, written to a folder that serves as the template search path.</summary>
public sealed class IncludeFolder : IDisposable
{
    public IncludeFolder()
    {
        Path = Directory.CreateTempSubdirectory("sirocco-tpl-includes-").FullName;
        foreach (var file in Fixture.Root.GetProperty("includes").EnumerateObject())
        {
            var full = System.IO.Path.Combine(Path, file.Name);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            File.WriteAllText(full, file.Value.GetString());
        }
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Every case of fixtures/conformance.json, whose expected outputs were rendered by the real Jinja2.</summary>
public class ConformanceTests(IncludeFolder includes) : IClassFixture<IncludeFolder>
{
    private static readonly Lazy<TestWorld> World = new(TestWorld.FromFixture);

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Fixture.Root.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Fact]
    public void Fixture_holds_at_least_150_cases_from_jinja2()
    {
        Assert.StartsWith("jinja2 3.", Fixture.Root.GetProperty("generator").GetString(), StringComparison.Ordinal);
        Assert.True(Fixture.Root.GetProperty("cases").GetArrayLength() >= 150);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Renders_as_jinja2_does(string name)
    {
        var c = Fixture.Root.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var template = c.GetProperty("template").GetString()!;
        var native = c.TryGetProperty("native", out var n) && n.GetBoolean();
        var engine = new TemplateEngine();
        var context = World.Value.Context;

        // Templates that include files go through the field renderer, whose search path holds the fixture's files.
        var renderer = new TemplateFieldRenderer(engine, new TemplateFieldOptions { SearchPath = includes.Path, NativeObjects = native });
        Func<string> render = template.Contains("include", StringComparison.Ordinal)
            ? () => renderer.RenderString(template, context, "field")
            : () => engine.Render(template, context, "field");

        if (c.TryGetProperty("error", out var error))
        {
            var e = Assert.Throws<TemplateException>(render);
            Assert.StartsWith("field", e.Field, StringComparison.Ordinal);
            if (c.GetProperty("error_type").GetString() == "syntax")
            {
                Assert.True(e.IsSyntaxError, e.Message);
            }
            else
            {
                Assert.False(e.IsSyntaxError, e.Message);
                Assert.Equal(error.GetString(), e.Reason);
            }

            return;
        }

        var expected = c.GetProperty("expected").GetString();
        if (native)
        {
            var value = engine.RenderNative(template, context);
            Assert.Equal(expected, PyOps.Repr(PyOps.FromDotNet(value)));
            return;
        }

        // Cases that read the clock or random numbers are written to give a fixed answer.
        Assert.Equal(expected, render());
    }
}
