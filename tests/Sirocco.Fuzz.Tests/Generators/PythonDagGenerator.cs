using System.Globalization;
using System.Text;

namespace Sirocco.Fuzz;

/// <summary>
/// Airflow DAG files (<c>.py</c>): the Airflow reader's fixture files mutated, with costly or forbidden statements
/// inserted (huge powers, repetitions and ranges, recursion, imports of the file system), deeply nested expressions
/// and blocks, DAGs of many tasks, and random text.
/// </summary>
internal sealed class PythonDagGenerator(IReadOnlyList<string> seeds) : SeededGenerator(seeds, Keywords, Specials, Nesting)
{
    /// <summary>Statements that cost a naive evaluator time, memory or stack, or that reach outside the file.</summary>
    public static readonly string[] CostlyStatements =
    [
        "x = 10 ** 10 ** 10", "x = 9 ** 9 ** 9", "x = 2 ** 100000", "x = 1 << 100000", "x = (1 << 62) * 4",
        "x = 'a' * 10 ** 12", "x = 'abc' * 3074457345618258603", "x = [0] * 4611686018427387904", "x = (1,) * 10 ** 10",
        "x = 'ab' * -5", "for i in range(10 ** 12):\n    pass", "while True:\n    pass", "x = list(range(10 ** 9))",
        "x = [i for i in range(10 ** 8)]", "x = {i: i for i in range(10 ** 8)}", "x = sorted(range(10 ** 8))",
        "def f():\n    return f()\nf()", "def g(n):\n    return g(n + 1)\ng(0)", "x = f'{1:>1000000000}'",
        "x = '{:>999999999}'.format(1)", "x = '%999999999d' % 1", "x = 'a'.center(10 ** 10)", "x = 'a'.ljust(2 ** 40)",
        "x = 'a'.zfill(10 ** 9)", "x = ','.join(['a'] * 10 ** 8)", "x = 'a' + 'b' * 10 ** 7", "x = int('9' * 5000)",
        "x = float('nan')", "x = int(float('inf'))", "x = round(1e308, -400)", "x = divmod(1, 0)", "x = 1 % 0", "x = 1 // 0",
        "x = -9223372036854775808 // -1", "x = abs(-9223372036854775808)", "x = -(-9223372036854775807 - 1)",
        "x = '%s %s' % ()", "x = '{0}{1}'.format(1)", "x = '{:,.>%}'.format(1)", "x = '{' * 100",
        "import os\nos.system('true')", "x = open('/etc/passwd').read()", "x = __import__('os')", "exec('x = 1')",
        "x = eval('1 + ' * 1000 + '1')", "x = globals()", "x = getattr(dag, '__class__')", "x = dag.__dict__",
        "x = timedelta(days=10 ** 10)", "x = datetime(9999, 12, 31) + timedelta(days=1)", "x = datetime(1, 1, 1) - timedelta(days=1)",
        "x = datetime(2024, 13, 40)", "x = pendulum.datetime(2020, 2, 30)", "x = days_ago(-10 ** 12)", "x = days_ago(10 ** 18)",
        "x = timedelta(seconds=float('inf'))", "x = datetime.fromtimestamp(1e20)", "d = {}\nd['a'] = d\nx = str(d)",
        "l = []\nl.append(l)\nx = repr(l)", "x = [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", "x = 'é' * 10 ** 6",
        "x = Variable.get('missing_' * 1000)", "x = os.environ['NOPE' * 100]", "x = chain(*[None] * 10)", "x = None >> None",
        "dag = DAG(dag_id='')", "dag = DAG(dag_id='a' * 10000)", "dag = DAG(dag_id='bad id/..')", "x = DAG(dag_id=None)",
        "x = EmptyOperator(task_id='')", "x = EmptyOperator(task_id='a' * 300)", "x = EmptyOperator(task_id=None)",
        "x = EmptyOperator(task_id='t', retries=10 ** 30)", "x = EmptyOperator(task_id='t', retry_delay=timedelta(days=10 ** 8))",
        "x = EmptyOperator(task_id='t', trigger_rule='sometimes')", "x = EmptyOperator(task_id='t', pool_slots=-1)",
    ];

    /// <summary>Python pieces the mutator inserts alone: brackets, quotes, operators, string prefixes.</summary>
    private static readonly string[] Specials =
    [
        "(", ")", "[", "]", "{", "}", "'", "\"", "\"\"\"", "'''", "\\", ":", ",", ".", "=", "==", "**", "*", ">>", "<<", "@", "#",
        "f'", "f\"{", "}", "rb'", "\\\n", ";", "->", ":=", "...", "lambda:", "0x", "1j", "0o7", "1_0", "\n    ", "\n\t", "\n",
    ];

    private static readonly (string Open, string Close)[] Nesting =
    [
        ("(", ")"), ("[", "]"), ("{", "}"), ("{'a': ", "}"), ("-", ""), ("not ", ""), ("f'{", "}'"), ("lambda: ", ""),
        ("1 if x else ", ""), ("2 ** ", ""), ("x[", "]"), ("str(", ")"), ("[i for i in ", "]"),
    ];

    private static readonly string[] Keywords =
    [
        "lambda", "yield", "global", "nonlocal", "import", "from", "exec", "eval", "__import__", "open", "while", "True", "False",
        "None", "async", "await", "del", "assert", "raise", "try", "except", "finally", "class", "def", "return", "for", "in",
        "if", "else", "elif", "with", "as", "not", "and", "or", "is", "pass", "break", "continue", "range", "len", "dict", "list",
        "str", "int", "float", "dag", "DAG", "chain", "EmptyOperator", "KubernetesPodOperator", "task_id", "dag_id", "self",
    ];

    /// <inheritdoc/>
    public override string Generate(Random random)
    {
        var seed = TextMutator.Pick(random, Seeds);
        var roll = random.Next(100);
        return roll switch
        {
            < 55 => Mutator.Mutate(random, seed),
            < 70 => MaybeMutate(random, InsertLine(random, seed, TextMutator.Pick(random, CostlyStatements))),
            < 80 => InsertLine(random, seed, "x = " + DeepExpression(random)),
            < 85 => DeepBlocks(random),
            < 90 => ManyTasks(random),
            < 95 => Header + Mutator.RandomText(random),
            _ => Mutator.RandomText(random),
        };
    }

    private const string Header = "from datetime import datetime, timedelta\nimport os\nimport pendulum\nfrom airflow import DAG\n"
        + "from airflow.models import Variable\nfrom airflow.models.baseoperator import chain\nfrom airflow.operators.empty import EmptyOperator\n"
        + "from airflow.utils.dates import days_ago\n";

    private string MaybeMutate(Random random, string text) => random.Next(3) == 0 ? Mutator.Mutate(random, text, 2) : text;

    /// <summary>Inserts a (possibly multi-line) statement before a random line, indented like that line.</summary>
    private static string InsertLine(Random random, string text, string statement)
    {
        var lines = text.Split('\n').ToList();
        var at = random.Next(lines.Count + 1);
        var next = at < lines.Count ? lines[at] : string.Empty;
        var indent = next[..(next.Length - next.TrimStart(' ').Length)];
        lines.InsertRange(at, statement.Split('\n').Select(l => indent + l));
        return string.Join('\n', lines);
    }

    /// <summary>An expression nested deeply: brackets, unary operators, chained binary operators, right-nested powers.</summary>
    private static string DeepExpression(Random random)
    {
        var depth = TextMutator.DeepDepth(random);
        return random.Next(6) switch
        {
            0 => string.Concat(Enumerable.Repeat("1 + ", depth)) + "1",
            1 => string.Concat(Enumerable.Repeat("a.", depth)) + "b",
            2 => string.Concat(Enumerable.Repeat("[0]", depth)),
            3 => "'x'" + string.Concat(Enumerable.Repeat(".upper()", depth)),
            _ => Nest(random, depth),
        };
    }

    private static string Nest(Random random, int depth)
    {
        var (open, close) = TextMutator.Pick(random, Nesting);
        return TextMutator.Nest(open, "1", close, depth, balanced: random.Next(5) != 0);
    }

    /// <summary>Blocks (if, for, def, with, try) nested one in the other, past the reader's limit or not.</summary>
    private static string DeepBlocks(Random random)
    {
        var depth = random.Next(2) == 0 ? random.Next(5, 100) : random.Next(100, 2_000);
        var text = new StringBuilder(Header).Append("with DAG('deep_blocks', start_date=datetime(2024, 1, 1), schedule=None) as dag:\n");
        var heads = new[] { "if True:", "for i in range(1):", "while False:", "try:", "with dag:", "def f():" };
        for (var level = 1; level <= depth; level++)
        {
            text.Append(' ', level * 4).Append(heads[random.Next(heads.Length)]).Append('\n');
        }

        text.Append(' ', (depth + 1) * 4).Append("EmptyOperator(task_id='leaf')\n");
        return text.ToString();
    }

    /// <summary>A DAG of many tasks: a long chain, a wide fan, or a chain closed into a cycle.</summary>
    private static string ManyTasks(Random random)
    {
        var count = random.Next(3) switch
        {
            0 => random.Next(10, 1_000),
            1 => random.Next(1_000, 20_000),
            _ => random.Next(20_000, 150_000),
        };
        var wiring = random.Next(4) switch
        {
            0 => "chain(*tasks)",
            1 => "tasks[0] >> tasks[1:]",
            2 => "for a, b in zip(tasks, tasks[1:]):\n        a >> b",
            _ => "chain(*tasks)\n    tasks[-1] >> tasks[0]",
        };
        return Header + string.Create(
            CultureInfo.InvariantCulture,
            $"with DAG(dag_id='many_tasks', start_date=datetime(2024, 1, 1), schedule=None) as dag:\n    tasks = [EmptyOperator(task_id=f't{{i}}') for i in range({count})]\n    {wiring}\n");
    }
}
