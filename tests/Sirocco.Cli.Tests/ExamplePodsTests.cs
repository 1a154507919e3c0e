using Sirocco.LocalCluster;

namespace Sirocco.Cli.Tests;

/// <summary>The C# example DAG with pods, run by <c>sirocco dags test</c> on the local cluster.</summary>
public sealed class ExamplePodsTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-pods-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Dags_test_runs_the_example_pods_and_the_xcom_travels_between_them()
    {
        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(_home, "cluster") });
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "example_dags", "example_pods.cs"), Path.Combine(_home, "dags", "example_pods.cs"));

        var (code, output) = await SiroccoProcess.RunAsync(_home, cluster.KubeconfigPath, "dags", "test", "example_pods", "2024-01-01");

        Assert.True(code == 0, output);
        Assert.Contains("producing for 2024-01-01", output, StringComparison.Ordinal);
        Assert.Contains("consumed 42 rows", output, StringComparison.Ordinal);
        Assert.Contains("finished: success", output, StringComparison.Ordinal);
    }
}
