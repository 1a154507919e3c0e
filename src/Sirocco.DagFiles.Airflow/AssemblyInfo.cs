// Sirocco.DagFiles.Airflow: see README.md in this folder.
