namespace Sirocco.Fuzz;

/// <summary>
/// C# DAG files: the files of <c>examples/dags</c> mutated, or with a statement inserted that makes the file return
/// something other than DAGs, throw, build an invalid DAG or fail to compile. The vocabulary holds no loop keyword and no
/// API that reaches outside the process (a C# DAG file runs with the host's rights; that is its design, not fuzzed here),
/// and nothing recurses without end (a stack overflow ends any .NET process, whatever the host does).
/// </summary>
internal sealed class CSharpDagGenerator(IReadOnlyList<string> seeds) : SeededGenerator(seeds, Keywords, Specials, Nesting)
{
    /// <summary>Statements that end the file wrongly: a wrong return, an exception, an invalid DAG, a compiler directive.</summary>
    public static readonly string[] OddStatements =
    [
        "return null;", "return 42;", "return new Dag[0];", "return new Dag[] { null! };", "return (object)\"text\";",
        "throw new InvalidOperationException(\"from the DAG file\");", "var big = int.Parse(\"99999999999\");",
        "var zero = 0; var q = 1 / zero;", "var none = (string?)null; var len = none!.Length;", "_ = new Dag(\"\");",
        "_ = new Dag(null!);", "_ = new Dag(\"bad id/..\");", "_ = new EmptyOperator(\"bad id\");", "_ = new EmptyOperator(\"\");",
        "var self = new EmptyOperator(\"self\"); var cyclic = new Dag(\"cyclic\") { Tasks = { self } }; _ = self >> self; return cyclic;",
        "var twice = new Dag(\"twice\"); return new[] { twice, twice };", "await Task.Delay(-2);", "await Task.Yield();",
        "#error boom", "#line 99999999", "#pragma warning disable", "#nullable disable", "#if X", "#endif", "#region", "unsafe { }",
        "checked { var o = int.MaxValue; o++; }", "var far = DateTimeOffset.MaxValue.AddDays(1);",
        "var span = TimeSpan.FromDays(1e300);", "Func<int> f = null!; f();", "var list = new List<int>(); _ = list[3];",
    ];

    private static readonly string[] Specials =
    [
        "(", ")", "[", "]", "{", "}", "\"", "'", "\"\"\"", "@\"", "$\"{", ";", ",", ".", "=", "=>", ">>", "<<", "?", "!", "::", "#",
        "//", "/*", "*/", "\\", "<", ">", "new", "\n",
    ];

    private static readonly (string Open, string Close)[] Nesting =
    [
        ("(", ")"), ("{", "}"), ("[", "]"), ("new[] { ", " }"), ("-", ""), ("!", ""), ("(object)", ""),
    ];

    private static readonly string[] Keywords =
    [
        "var", "new", "return", "await", "null", "true", "false", "default", "if", "else", "using", "static", "class", "int",
        "string", "object", "dynamic", "checked", "unchecked", "typeof", "nameof", "is", "as", "this", "base", "async", "void",
    ];

    /// <inheritdoc/>
    public override string Generate(Random random)
    {
        var seed = TextMutator.Pick(random, Seeds);
        return random.Next(10) switch
        {
            < 5 => Mutator.Mutate(random, seed, maxEdits: 3),
            < 8 => InsertBeforeReturn(seed, TextMutator.Pick(random, OddStatements)),
            < 9 => seed,
            _ => Mutator.RandomText(random),
        };
    }

    private static string InsertBeforeReturn(string text, string statement)
    {
        var at = text.LastIndexOf("return ", StringComparison.Ordinal);
        return at < 0 ? text + "\n" + statement + "\n" : text.Insert(at, statement + "\n");
    }
}
