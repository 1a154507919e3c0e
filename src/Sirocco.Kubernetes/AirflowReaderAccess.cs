using System.Runtime.CompilerServices;

// The Airflow DAG-file reader's tests build each task's pod with the pure PodBuilder, to compare the pods of a .py DAG
// file with those of the equivalent C# DAG file.
[assembly: InternalsVisibleTo("Sirocco.DagFiles.Airflow.Tests")]
