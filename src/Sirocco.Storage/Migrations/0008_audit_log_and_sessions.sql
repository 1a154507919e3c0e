-- 0008: the audit log (Airflow's `log` table: who did what to which DAG, task or run, and from where), and the time
-- before which a user's web sessions and API tokens no longer count (set on logout).
CREATE TABLE log (
    id INTEGER PRIMARY KEY,
    dttm TEXT NOT NULL,
    event TEXT NOT NULL,
    owner TEXT,
    origin TEXT,
    dag_id TEXT,
    task_id TEXT,
    run_id TEXT,
    map_index INTEGER,
    try_number INTEGER,
    extra TEXT
);
CREATE INDEX idx_log_dttm ON log (dttm);
CREATE INDEX idx_log_dag_event ON log (dag_id, event);
ALTER TABLE app_user ADD COLUMN sessions_valid_after TEXT;
