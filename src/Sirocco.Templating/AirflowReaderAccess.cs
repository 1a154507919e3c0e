using System.Runtime.CompilerServices;

// The Airflow DAG-file reader (Sirocco.DagFiles.Airflow) evaluates Python over this component's value model
// (Expressions/: PyOps, PyArith, PyDateTime, PyFormat): it composes those internals rather than copying them.
[assembly: InternalsVisibleTo("Sirocco.DagFiles.Airflow")]
