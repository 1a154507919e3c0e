namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>The component's public surface stays small: the parser, its options and BashOperator.</summary>
public sealed class PublicApiTests
{
    [Fact]
    public void Only_the_parser_its_options_and_BashOperator_are_public()
    {
        var exported = typeof(AirflowDagFileParser).Assembly.GetExportedTypes().Select(t => t.FullName).Order(StringComparer.Ordinal);
        Assert.Equal(
            ["Sirocco.DagFiles.Airflow.AirflowDagFileParser", "Sirocco.DagFiles.Airflow.AirflowDagFileParserOptions", "Sirocco.DagFiles.Airflow.AirflowLocalSettings", "Sirocco.DagFiles.Airflow.BashOperator", "Sirocco.DagFiles.Airflow.SlackMessageNotifier", "Sirocco.DagFiles.Airflow.SlackNotifier", "Sirocco.DagFiles.Airflow.SlackWebhookNotifier", "Sirocco.DagFiles.Airflow.SmtpNotifier"],
            exported);
    }

    [Fact]
    public void The_parser_handles_py_files() =>
        Assert.Equal([".py"], new AirflowDagFileParser().FileExtensions);
}
