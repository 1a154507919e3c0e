using Sirocco.DagFiles.Airflow.Evaluation;
using Sirocco.Kubernetes;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>docs/airflow-compatibility.md lists every keyword the reader accepts.</summary>
public sealed class DocumentationTests
{
    [Theory]
    [InlineData(typeof(KubernetesPodOperator))]
    [InlineData(typeof(GKEStartPodOperator))]
    [InlineData(typeof(BashOperator))]
    [InlineData(typeof(EmptyOperator))]
    public void Every_accepted_keyword_is_documented(Type operatorType)
    {
        var doc = File.ReadAllText(Path.Combine(Support.RepositoryRoot(), "docs", "airflow-compatibility.md"));
        var missing = Operators.Keywords(operatorType).Concat(Operators.Ignored).Where(k => !doc.Contains($"`{k}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "not documented: " + string.Join(", ", missing));
    }
}
