using Sirocco.DagFiles.Airflow.Evaluation;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>docs/airflow-compatibility.md lists every keyword the reader accepts, for every class of the registry.</summary>
public sealed class DocumentationTests
{
    public static TheoryData<string> ImportableClasses() => [.. OperatorRegistry.All.Where(c => c.Importable).Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(ImportableClasses))]
    public void Every_accepted_keyword_is_documented(string className)
    {
        var doc = File.ReadAllText(Path.Combine(Support.RepositoryRoot(), "docs", "airflow-compatibility.md"));
        var missing = Operators.Keywords(OperatorRegistry.Get(className).Type).Concat(Operators.Ignored).Where(k => !doc.Contains($"`{k}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "not documented: " + string.Join(", ", missing));
        Assert.Contains($"`{className}`", doc, StringComparison.Ordinal);
    }
}
