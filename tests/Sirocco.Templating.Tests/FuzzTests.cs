using System.Diagnostics;
using System.Text;

namespace Sirocco.Templating.Tests;

/// <summary>Random and mutated templates: each must end in output or a clean <see cref="TemplateException"/>, quickly.</summary>
public class FuzzTests
{
    private static readonly string[] Atoms =
    [
        "{{", "}}", "{%", "%}", "{#", "#}", "-", "+", "*", "**", "/", "//", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]",
        "{", "}", "'", "\"", "\\", "\n", " ", "if", "else", "elif", "endif", "for", "in", "endfor", "set", "endset", "raw",
        "endraw", "not", "and", "or", "is", "defined", "none", "true", "loop", "x", "s", "n", "items", "d", "ds", "var",
        "value", "my_value", "conf", "get", "upper", "join", "default", "length", "0", "1", "-1", "999999999999", "1e308",
        "'a'", "\"b\"", "==", "<", ">=", "!=", "__class__", "ti", "xcom_pull", "macros", "ds_add", "params", "round",
        "truncate", "format", "tojson", "sort", "map", "selectattr", "dictsort", "replace", "split", "[::-1]", "[1:]", "=",
        "macro", "endmacro", "range(", "dict(", "m(", "f(", "namespace(", "ns", "ns.x", "filter", "endfilter", "groupby",
        "in_timezone('Europe/Paris')", ".date()", "urlencode", "escape",
    ];

    private static readonly string[] Expressions =
    [
        "n", "s", "items", "d", "d.a", "items[0]", "s.upper()", "n + 1", "n * 2.5", "s ~ n", "items | join(',')",
        "d | dictsort", "s | replace('a', 'b')", "n if n > 1 else 0", "ds", "macros.ds_add(ds, n)", "items | sort | first",
        "s.split(' ')", "d.get('z', 0)", "'%s-%d' % (s, n)", "n is odd", "items | map('string') | list", "-n ** 2",
        "(n, s)", "{'k': n}", "[n, s, none]", "var.value.my_value", "conf.get('core', 'kube_config')", "params.x",
        "ti.xcom_pull(task_ids='t')", "logical_date.strftime('%Y')", "data_interval_end - logical_date", "missing",
        "s[1:3]", "s * n", "items * n", "n // 0", "s | truncate(3)", "items | selectattr('real') | list", "'{:>5}'.format(s)",
    ];

    private static TemplateContext Context()
    {
        var world = TestWorld.FromFixture();
        return world.Context.Copy()
            .Set("n", 3)
            .Set("s", "abc def")
            .Set("items", new object[] { 3, "x", 1.5 })
            .Set("d", new Dictionary<string, object?> { ["a"] = 1, ["b"] = new[] { 1, 2 } });
    }

    private static string RandomTemplate(Random r, int depth = 0)
    {
        var sb = new StringBuilder();
        var parts = r.Next(1, 5);
        for (var i = 0; i < parts; i++)
        {
            switch (r.Next(depth > 2 ? 3 : 6))
            {
                case 0:
                    sb.Append("text ").Append(r.Next(100));
                    break;
                case 1:
                    sb.Append(r.Next(2) == 0 ? "{{ " : "{{- ").Append(Expr(r)).Append(r.Next(2) == 0 ? " }}" : " -}}");
                    break;
                case 2:
                    sb.Append("{% set v").Append(r.Next(3)).Append(" = ").Append(Expr(r)).Append(" %}");
                    break;
                case 3:
                    sb.Append("{% if ").Append(Expr(r)).Append(" %}").Append(RandomTemplate(r, depth + 1));
                    if (r.Next(2) == 0)
                    {
                        sb.Append("{% else %}").Append(RandomTemplate(r, depth + 1));
                    }

                    sb.Append("{% endif %}");
                    break;
                case 4:
                    sb.Append("{% for v in ").Append(Expr(r)).Append(" %}{{ loop.index }}").Append(RandomTemplate(r, depth + 1)).Append("{% endfor %}");
                    break;
                case 5 when r.Next(3) == 0:
                    sb.Append("{% set ns = namespace(x=").Append(Expr(r)).Append(") %}{% filter upper %}").Append(RandomTemplate(r, depth + 1))
                        .Append("{% set ns.x = ").Append(Expr(r)).Append(" %}{% endfilter %}{{ ns.x }}");
                    break;
                case 5 when r.Next(2) == 0:
                    sb.Append("{% macro m(a, b=").Append(Expr(r)).Append(") %}").Append(RandomTemplate(r, depth + 1)).Append("{{ a }}{% endmacro %}{{ m(").Append(Expr(r)).Append(") }}");
                    break;
                default:
                    sb.Append("{# c #}\n");
                    break;
            }
        }

        return sb.ToString();
    }

    private static string Expr(Random r)
    {
        var e = Expressions[r.Next(Expressions.Length)];
        return r.Next(3) == 0 ? $"({e}) {new[] { "+", "~", "*", "and", "or", "==", "<", "in" }[r.Next(8)]} ({Expressions[r.Next(Expressions.Length)]})" : e;
    }

    private static string Mutate(Random r, string text)
    {
        var sb = new StringBuilder(text);
        var edits = r.Next(1, 4);
        for (var i = 0; i < edits; i++)
        {
            var pos = sb.Length == 0 ? 0 : r.Next(sb.Length + 1);
            switch (r.Next(4))
            {
                case 0:
                    sb.Insert(pos, Atoms[r.Next(Atoms.Length)]);
                    break;
                case 1 when sb.Length > 0:
                    var len = Math.Min(sb.Length - Math.Min(pos, sb.Length - 1), r.Next(1, 6));
                    sb.Remove(Math.Min(pos, sb.Length - 1), len);
                    break;
                case 2 when sb.Length > 0:
                    var start = r.Next(sb.Length);
                    var piece = sb.ToString(start, Math.Min(sb.Length - start, r.Next(1, 12)));
                    sb.Insert(pos, piece);
                    break;
                default:
                    sb.Insert(pos, (char)r.Next(32, 127));
                    break;
            }
        }

        return sb.ToString();
    }

    [Fact]
    public void Ten_thousand_random_and_mutated_templates_end_in_output_or_a_clean_error()
    {
        var engine = new TemplateEngine(new TemplateEngineOptions { MaxLoopIterations = 20_000, MaxOutputLength = 200_000 });
        var context = Context();
        var seeds = Fixture.Root.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("template").GetString()!).ToArray();
        var r = new Random(int.TryParse(Environment.GetEnvironmentVariable("SIROCCO_FUZZ_SEED"), out var seed) ? seed : 20261126);
        int rendered = 0, failed = 0;
        var total = Stopwatch.StartNew();
        for (var i = 0; i < 12_000; i++)
        {
            var template = (i % 3) switch
            {
                0 => Mutate(r, seeds[r.Next(seeds.Length)]),
                1 => RandomTemplate(r),
                _ => Mutate(r, RandomTemplate(r)),
            };
            var sw = Stopwatch.StartNew();
            try
            {
                if (i % 7 == 0)
                {
                    engine.RenderNative(template, context, "fuzz");
                }
                else
                {
                    engine.Render(template, context, "fuzz");
                }

                rendered++;
            }
            catch (TemplateException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Reason));
                Assert.False(e.Reason.StartsWith(Template.InternalErrorPrefix, StringComparison.Ordinal), $"template {i}: {e}\n---\n{template}");
                Assert.True(e.Line >= 1 && e.Column >= 1);
                failed++;
            }
            catch (Exception e)
            {
                Assert.Fail($"template {i} crashed with {e.GetType().Name}: {e.Message}\n---\n{template}\n---\n{e}");
            }

            Assert.True(sw.ElapsedMilliseconds < 10_000, $"template {i} took {sw.ElapsedMilliseconds} ms:\n{template}");
        }

        Assert.True(rendered > 1000, $"only {rendered} templates rendered");
        Assert.True(failed > 1000, $"only {failed} templates failed");
        Assert.True(total.Elapsed < TimeSpan.FromSeconds(30), $"fuzzing took {total.Elapsed}");
    }
}
