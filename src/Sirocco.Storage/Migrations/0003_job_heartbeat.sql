-- 0003: the latest heartbeat of each long-running job (the scheduler), for /health and the UI.
CREATE TABLE job_heartbeat (
    job_type          TEXT PRIMARY KEY,
    hostname          TEXT,
    latest_heartbeat  TEXT NOT NULL
);
