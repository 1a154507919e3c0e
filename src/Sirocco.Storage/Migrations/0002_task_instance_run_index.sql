-- 0002: task instances of a run in task order (the API's and UI's most frequent list) without reading the whole DAG.
CREATE INDEX ix_task_instance_run_task ON task_instance (dag_id, run_id, task_id, map_index);
