using System.Text;

namespace Sirocco.Fuzz;

/// <summary>
/// Jinja templates: the conformance suite's templates mutated, joined, nested deeply (expressions and blocks), with
/// costly constructs (huge ranges, repetitions, powers, widths, recursion) and random text.
/// </summary>
internal sealed class TemplateGenerator(IReadOnlyList<string> seeds) : SeededGenerator(seeds, Names, Specials, Blocks)
{
    /// <summary>Templates that cost a naive engine time, memory or stack, or reach for Python internals.</summary>
    public static readonly string[] CostlyTemplates =
    [
        "{% for i in range(10**9) %}x{% endfor %}", "{{ range(10**9) | list | length }}", "{{ 'x' * 10**9 }}",
        "{{ 'abc' * 3074457345618258603 }}", "{{ 'abc def' * 1317624576693539402 }}", "{{ [0] * 4611686018427387904 }}",
        "{{ items * 3074457345618258603 }}", "{{ (1, 2) * 4611686018427387904 }}", "{{ 10**10**10 }}", "{{ 2**63 }}", "{{ 9**9**9 }}",
        "{% for i in range(10**5) %}{% for j in range(10**5) %}{% endfor %}{% endfor %}",
        "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", "{{ '%999999999d' % 1 }}", "{{ '{:>999999999}'.format(1) }}",
        "{{ 'a' | center(10**9) }}", "{{ s | truncate(10**18) }}", "{{ s | wordwrap(0) }}", "{{ s | indent(10**9) }}",
        "{{ items | batch(0) | list }}", "{{ items | slice(10**9) | list }}", "{{ range(0, 10**18) | length }}",
        "{{ range(-9223372036854775808, 9223372036854775807) | length }}", "{{ macros.ds_add(ds, 10**12) }}",
        "{{ macros.ds_add(ds, -10**9) }}", "{{ macros.datetime(9999, 12, 31) + macros.timedelta(days=1) }}",
        "{{ macros.timedelta(days=10**10) }}", "{{ ds | replace('', 'x' * 10**6) }}", "{{ (items * 10**6) | join }}",
        "{% set ns = namespace(x=[]) %}{% for i in range(10**5) %}{% set ns.x = ns.x + [i] %}{% endfor %}{{ ns.x | length }}",
        "{{ d.__class__ }}", "{{ ''.__class__.__mro__ }}", "{{ s.split('') }}", "{{ s.center(-1) }}", "{{ '{0[0]}'.format(items) }}",
        "{{ '%s' % (1, 2) }}", "{{ 1 / 0 }}", "{{ 1 % 0 }}", "{{ -9223372036854775808 // -1 }}", "{{ (-9223372036854775807 - 1) | abs }}",
        "{{ 1e308 * 10 }}", "{{ (1e308 * 10) | int }}", "{{ 'nan' | float | int }}", "{{ 'inf' | float | round }}",
        "{{ 1.5 | round(10**9) }}", "{{ 1.5 | round(-10**9) }}", "{{ params | tojson(indent=10**9) }}", "{{ d | dictsort(by='nope') }}",
        "{{ var.value.get('x' * 10**6, 'd') }}", "{{ conn.nope.host }}", "{% include 'nothing' %}", "{% extends 'base' %}",
        "{% import 'x' as y %}", "{% block b %}{% endblock %}", "{% call m() %}{% endcall %}", "{{ s * -1 }}", "{{ s[::0] }}",
        "{{ s[10**20:] }}", "{{ items[10**20] }}", "{{ items[-10**20] }}", "{{ s[9223372036854775807:] }}",
        "{{ s[::-9223372036854775808] }}", "{{ '%.999999f' % 1 }}", "{{ '{:.999999999f}'.format(1.0) }}", "{{ '{:,}'.format(10**30) }}",
        "{{ '%c' % 1114112 }}", "{{ '%c' % -1 }}", "{{ 'x' | indent(width=-5) }}", "{{ n ** -9223372036854775808 }}",
        "{{ -9223372036854775808 * -1 }}", "{{ 9223372036854775807 + 1 }}", "{{ 'x' | string * 99999 }}", "{{ '%*d' % (10**9, 1) }}",
        "{{ ti.xcom_pull(task_ids=['a'] * 10**6) }}", "{{ macros.ds_format(ds, '%Y' * 10**5, '%Y') }}", "{{ ds | ds_add(10**15) }}",
        "{{ var.json.dup_json }}", "{{ var.json.dup_json.a.b }}", "{{ conn.dup_conn.extra_dejson }}", "{{ conn.dup_conn.extra_dejson.k }}",
        "{{ conn.dup_conn.get_uri() }}", "{{ conn.env_dup.host }}", "{{ var.value.dup_json | tojson }}", "{{ logical_date.replace(year=10**9) }}", "{{ logical_date + macros.timedelta(days=10**9) }}", "{{ logical_date.strftime('%' * 1001) }}",
    ];

    private static readonly string[] Specials =
    [
        "{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", "|", "'", "\"", "(", ")", "[", "]", "{", "}", ".", ",", ":",
        "~", "**", "//", "%", "=", "==", "{% raw %}", "{% endraw %}", "{% endfor %}", "{% endif %}", "{% else %}", "{% endmacro %}",
        "{% endset %}", "{% endfilter %}", "{% elif %}", "\\", "\n",
    ];

    private static readonly string[] Names =
    [
        "ds", "ts", "ds_nodash", "logical_date", "macros", "var", "conn", "conf", "params", "dag_run", "ti", "task", "dag", "run_id",
        "n", "s", "items", "d", "range", "loop", "namespace", "lipsum", "dict", "cycler", "joiner", "none", "true", "false",
        "upper", "lower", "join", "default", "length", "int", "float", "round", "tojson", "replace", "truncate", "format", "sort",
        "map", "select", "selectattr", "dictsort", "groupby", "batch", "slice", "indent", "center", "wordwrap", "trim", "first",
        "last", "list", "string", "abs", "sum", "min", "max", "unique", "reverse", "urlencode", "escape", "safe", "filesizeformat",
        "if", "else", "elif", "endif", "for", "endfor", "in", "not", "and", "or", "is", "defined", "set", "macro", "call", "filter",
    ];

    private static readonly (string Open, string Close)[] Blocks =
    [
        ("{% if true %}", "{% endif %}"), ("{% for i in [1] %}", "{% endfor %}"), ("{% filter upper %}", "{% endfilter %}"),
        ("{% set x %}", "{% endset %}"), ("{% raw %}", "{% endraw %}"), ("{% if n %}{% else %}", "{% endif %}"),
        ("{{ (", ") }}"), ("{# ", " #}"),
    ];

    private static readonly (string Open, string Close)[] Expressions =
    [
        ("(", ")"), ("[", "]"), ("{'a': ", "}"), ("-", ""), ("not ", ""), ("1 + ", ""), ("1 ~ ", ""), ("2 ** ", ""),
        ("1 if n else ", ""), ("(", ") | upper"), ("[", "][0]"), ("range(", ")"), ("dict(a=", ")"),
    ];

    /// <inheritdoc/>
    public override string Generate(Random random)
    {
        var roll = random.Next(100);
        return roll switch
        {
            < 50 => Mutator.Mutate(random, TextMutator.Pick(random, Seeds)),
            < 65 => TextMutator.Pick(random, Seeds) + TextMutator.Pick(random, CostlyTemplates),
            < 72 => "{{ " + DeepExpression(random) + " }}",
            < 78 => DeepBlocks(random),
            < 88 => Mutator.Mutate(random, Joined(random)),
            _ => Mutator.RandomText(random),
        };
    }

    private string Joined(Random random)
    {
        var text = new StringBuilder();
        for (var i = random.Next(2, 6); i > 0; i--)
        {
            text.Append(TextMutator.Pick(random, Seeds)).Append(random.Next(3) == 0 ? "\n" : string.Empty);
        }

        return text.ToString();
    }

    private static string DeepExpression(Random random)
    {
        var depth = TextMutator.DeepDepth(random);
        return random.Next(5) switch
        {
            0 => "s" + string.Concat(Enumerable.Repeat(random.Next(2) == 0 ? " | upper" : ".upper()", depth)),
            1 => "items" + string.Concat(Enumerable.Repeat("[0]", depth)),
            _ => Nest(random, Expressions, "n", depth),
        };
    }

    private static string DeepBlocks(Random random) => Nest(random, Blocks, "{{ n }}", TextMutator.DeepDepth(random));

    private static string Nest(Random random, (string Open, string Close)[] pairs, string inner, int depth)
    {
        var (open, close) = TextMutator.Pick(random, pairs);
        return TextMutator.Nest(open, inner, close, depth, balanced: random.Next(5) != 0);
    }
}
