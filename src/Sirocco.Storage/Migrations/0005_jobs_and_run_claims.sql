-- 0005: each long-running job (a scheduler, a backfill) has its own row and heartbeat, and a DAG run is held by one
-- job at a time (dag_run.claimed_by), so that several schedulers share one database without running a task twice.
CREATE TABLE job (
    id                TEXT PRIMARY KEY,
    job_type          TEXT NOT NULL,
    hostname          TEXT NOT NULL,
    pid               INTEGER NOT NULL,
    state             TEXT NOT NULL,
    start_date        TEXT NOT NULL,
    end_date          TEXT,
    latest_heartbeat  TEXT NOT NULL
);
CREATE INDEX ix_job_type_state ON job (job_type, state);
DROP TABLE job_heartbeat;
ALTER TABLE dag_run ADD COLUMN claimed_by TEXT;
CREATE INDEX ix_dag_run_claimed_by ON dag_run (claimed_by);
