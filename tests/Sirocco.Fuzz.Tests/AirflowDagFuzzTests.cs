using Xunit.Abstractions;

namespace Sirocco.Fuzz.Tests;

/// <summary>Generated Airflow DAG files: each loads or is an import error naming the file, within 5 s.</summary>
public sealed class AirflowDagFuzzTests(ITestOutputHelper output)
{
    private const string Header = "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.models.baseoperator import chain\n"
        + "from airflow.operators.empty import EmptyOperator\nfrom airflow.utils.dates import days_ago\n";

    /// <summary>Inputs the fuzzer found, each a bug fixed since: the text, whether it loads, and what its error says.</summary>
    public static TheoryData<string, bool, string> FoundInputs() => new()
    {
        // Dag.TopologicalOrder recursed once per task of a chain: the process died of a stack overflow.
        { Header + "with DAG('long_chain', start_date=datetime(2024, 1, 1), schedule=None):\n    chain(*[EmptyOperator(task_id=f't{i}') for i in range(60000)])\n", true, string.Empty },
        // days_ago(-1e309) threw an ArgumentOutOfRangeException: an "internal error of the DAG-file reader".
        { Header + "args = {'start_date': days_ago(-1e309)}\ndag = DAG('far', default_args=args)\n", false, "date value out of range" },
        // A string repeated 3074457345618258603 times overflowed the length check.
        { Header + "x = 'abc' * 3074457345618258603\ndag = DAG('big')\n", false, "value too large" },
    };

    [Fact]
    public async Task Generated_dag_files_load_or_fail_with_an_error_naming_the_file()
    {
        await using var target = new AirflowDagTarget();
        await target.StartAsync(CancellationToken.None);
        await FuzzCheck.RunAsync(target, defaultCases: 300, output);
    }

    [Theory]
    [MemberData(nameof(FoundInputs))]
    public async Task Inputs_found_by_the_fuzzer_load_or_fail_cleanly(string text, bool loads, string error)
    {
        await using var target = new AirflowDagTarget();
        await FuzzCheck.FoundInputAsync(ct => target.CheckAsync("/fuzz/dags/found.py", text, ct), loads, error, TimeSpan.FromSeconds(20));
    }
}
