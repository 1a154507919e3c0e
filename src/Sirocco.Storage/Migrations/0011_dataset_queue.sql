-- 0011: dataset (asset) updates waiting for the DAGs scheduled on them; a DAG runs when every one of its datasets has
-- a row, and its rows are deleted with the run's creation.
CREATE TABLE dataset_dag_run_queue (
  dataset_uri TEXT NOT NULL,
  target_dag_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (dataset_uri, target_dag_id)
);
CREATE TABLE dataset_event (
  dataset_uri TEXT NOT NULL,
  source_dag_id TEXT NOT NULL,
  source_task_id TEXT NOT NULL,
  source_run_id TEXT NOT NULL,
  source_map_index INTEGER NOT NULL,
  timestamp TEXT NOT NULL,
  PRIMARY KEY (dataset_uri, source_dag_id, source_task_id, source_run_id, source_map_index, timestamp)
);
