-- 0001: the first schema. Migrations are append-only: never edit a released one, add the next number.
-- Timestamps are ISO 8601 UTC text with 7 fractional digits, so they sort as text on every database.

CREATE TABLE variable (
    key          TEXT PRIMARY KEY,
    val          TEXT NOT NULL,
    description  TEXT
);

CREATE TABLE connection (
    conn_id      TEXT PRIMARY KEY,
    conn_type    TEXT NOT NULL,
    description  TEXT,
    host         TEXT,
    login        TEXT,
    password     TEXT,
    schema_name  TEXT,
    port         INTEGER,
    extra        TEXT
);

CREATE TABLE dag (
    dag_id            TEXT PRIMARY KEY,
    fileloc           TEXT,
    is_paused         INTEGER NOT NULL DEFAULT 1,
    is_active         INTEGER NOT NULL DEFAULT 1,
    last_parsed_time  TEXT,
    description       TEXT,
    schedule          TEXT,
    owners            TEXT,
    tags              TEXT
);

CREATE TABLE dag_run (
    dag_id               TEXT NOT NULL,
    run_id               TEXT NOT NULL,
    run_type             TEXT NOT NULL,
    logical_date         TEXT NOT NULL,
    data_interval_start  TEXT NOT NULL,
    data_interval_end    TEXT NOT NULL,
    state                TEXT NOT NULL,
    conf                 TEXT,
    queued_at            TEXT,
    start_date           TEXT,
    end_date             TEXT,
    PRIMARY KEY (dag_id, run_id),
    UNIQUE (dag_id, logical_date)
);
CREATE INDEX ix_dag_run_state ON dag_run (state, dag_id);

CREATE TABLE task_instance (
    dag_id           TEXT NOT NULL,
    task_id          TEXT NOT NULL,
    run_id           TEXT NOT NULL,
    map_index        INTEGER NOT NULL DEFAULT -1,
    state            TEXT NOT NULL,
    try_number       INTEGER NOT NULL DEFAULT 0,
    max_tries        INTEGER NOT NULL DEFAULT 1,
    start_date       TEXT,
    end_date         TEXT,
    queued_at        TEXT,
    next_retry_at    TEXT,
    hostname         TEXT,
    operator         TEXT,
    pool             TEXT NOT NULL DEFAULT 'default_pool',
    pool_slots       INTEGER NOT NULL DEFAULT 1,
    priority_weight  INTEGER NOT NULL DEFAULT 1,
    external_id      TEXT,
    PRIMARY KEY (dag_id, task_id, run_id, map_index)
);
CREATE INDEX ix_task_instance_state ON task_instance (state, dag_id);
CREATE INDEX ix_task_instance_run ON task_instance (dag_id, run_id);

CREATE TABLE task_instance_try (
    dag_id       TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    map_index    INTEGER NOT NULL DEFAULT -1,
    try_number   INTEGER NOT NULL,
    state        TEXT NOT NULL,
    start_date   TEXT,
    end_date     TEXT,
    hostname     TEXT,
    external_id  TEXT,
    PRIMARY KEY (dag_id, task_id, run_id, map_index, try_number)
);

CREATE TABLE xcom (
    dag_id     TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    map_index  INTEGER NOT NULL DEFAULT -1,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    timestamp  TEXT NOT NULL,
    PRIMARY KEY (dag_id, task_id, run_id, map_index, key)
);

CREATE TABLE import_error (
    filename   TEXT PRIMARY KEY,
    message    TEXT NOT NULL,
    timestamp  TEXT NOT NULL
);

CREATE TABLE app_user (
    username       TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL,
    email          TEXT,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL
);

CREATE TABLE slot_pool (
    pool         TEXT PRIMARY KEY,
    slots        INTEGER NOT NULL,
    description  TEXT
);

-- As in Airflow: the default connection for KubernetesPodOperator (no kube config set, so ~/.kube/config is used)
-- and the default pool with 128 slots.
INSERT INTO connection (conn_id, conn_type) VALUES ('kubernetes_default', 'kubernetes');
INSERT INTO slot_pool (pool, slots, description) VALUES ('default_pool', 128, 'Default pool');
