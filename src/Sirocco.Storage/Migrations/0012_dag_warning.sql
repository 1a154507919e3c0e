-- 0012: DAG warnings (Airflow's dag_warning): what a DAG file's loader accepted but a user should fix, replaced at
-- each sync of the dags folder.
CREATE TABLE dag_warning (
  dag_id TEXT NOT NULL,
  warning_type TEXT NOT NULL,
  message TEXT NOT NULL,
  timestamp TEXT NOT NULL,
  PRIMARY KEY (dag_id, warning_type, message)
);
