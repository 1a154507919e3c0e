namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>Datasets and assets in DAG files: a task's outlets and a DAG scheduled on them.</summary>
public sealed class DatasetReaderTests
{
    [Fact]
    public void Outlets_and_dataset_schedules_are_read_from_airflow_2_and_3_files()
    {
        var producer = Support.One("""
            from datetime import datetime
            from airflow import DAG
            from airflow.datasets import Dataset
            from airflow.operators.bash import BashOperator

            orders = Dataset("s3://lake/orders")
            with DAG("producer", start_date=datetime(2024, 1, 1), schedule="@daily"):
                BashOperator(task_id="export", bash_command="echo", outlets=[orders, Dataset("s3://lake/audit")])
            """);
        Assert.Equal(["s3://lake/orders", "s3://lake/audit"], producer.GetTask("export").Outlets);

        var consumer = Support.One("""
            from airflow.sdk import DAG, Asset
            from airflow.operators.empty import EmptyOperator

            with DAG("consumer", schedule=[Asset("s3://lake/orders"), Asset(name="audit", uri="s3://lake/audit")]):
                EmptyOperator(task_id="report")
            """);
        Assert.Equal(["s3://lake/orders", "s3://lake/audit"], consumer.Schedule.DatasetUris);
        Assert.Equal("Dataset: s3://lake/orders, s3://lake/audit", consumer.Schedule.Description);
    }
}
