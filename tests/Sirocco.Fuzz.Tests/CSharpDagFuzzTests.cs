using Xunit.Abstractions;

namespace Sirocco.Fuzz.Tests;

/// <summary>
/// Generated C# DAG files through a DagBag: each yields DAGs of its own file or an import error naming the file. Few
/// cases by default (each is a Roslyn compilation); <c>SIROCCO_FUZZ_CASES</c> or the bench run more.
/// </summary>
public sealed class CSharpDagFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Generated_csharp_dag_files_load_or_fail_with_an_error_naming_the_file()
    {
        await using var target = new CSharpDagTarget();
        await target.StartAsync(CancellationToken.None);
        await FuzzCheck.RunAsync(target, defaultCases: 10, output);

        // Found by the fuzzer: a file without a statement gave an import error with an empty message.
        await FuzzCheck.FoundInputAsync(ct => target.CheckAsync(string.Empty, "found_empty", ct), accepted: false, "found_empty.cs", TimeSpan.FromSeconds(60));
        await FuzzCheck.FoundInputAsync(ct => target.CheckAsync("// only a comment\n", "found_comment", ct), accepted: false, "has no statement", TimeSpan.FromSeconds(60));

        // Found by the fuzzer: 20,000 nested decrements made Roslyn's binder overflow the stack, ending the process.
        var deep = "var x = 0;\n_ = " + string.Concat(Enumerable.Repeat("--", 20_000)) + "x;\nreturn null;\n";
        await FuzzCheck.FoundInputAsync(ct => target.CheckAsync(deep, "found_deep", ct), accepted: false, "found_deep.cs(2,", TimeSpan.FromSeconds(60));
        await FuzzCheck.FoundInputAsync(ct => target.CheckAsync(deep, "found_deep", ct), accepted: false, "nested more than 256 levels", TimeSpan.FromSeconds(60));
    }
}
