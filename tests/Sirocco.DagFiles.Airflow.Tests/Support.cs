
namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>Helpers shared by the tests: parsing a text, locating fixtures and the repository.</summary>
internal static class Support
{
    public static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures");

    public static AirflowDagFileParser NewParser(IReadOnlyDictionary<string, string>? env = null) =>
        new(new AirflowDagFileParserOptions { Environment = env ?? new Dictionary<string, string>() });

    public static DagFileParseResult Parse(string text, string path = "/dags/test_dag.py", AirflowDagFileParser? parser = null) =>
        (parser ?? NewParser()).Parse(path, text, null, TimeSpan.FromSeconds(30), CancellationToken.None);

    /// <summary>Parses and expects exactly one DAG.</summary>
    public static Dag One(string text)
    {
        var r = Parse(text);
        Assert.True(r.Errors.Count == 0, r.Errors.Count == 0 ? string.Empty : r.Errors[0].Message);
        return Assert.Single(r.Dags);
    }

    /// <summary>Parses and expects one import error; returns it .</summary>
    public static DagImportError Error(string text)
    {
        var r = Parse(text);
        Assert.Empty(r.Dags);
        return Assert.Single(r.Errors);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }

    /// <summary>The seed page's DAG code, as committed in the fixtures (the repository needs nothing outside it).</summary>
    public static string SeedDagText()
    {
        return File.ReadAllText(Path.Combine(Fixtures, "seed_kubernetes_pod_operator.py"));
    }
}
