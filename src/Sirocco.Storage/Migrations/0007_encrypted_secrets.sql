-- 0007: connection passwords and extras and Variable values may be stored as Fernet tokens ([core] fernet_key), as
-- Airflow stores them; these flags say which are. Rows written before stay readable as they are.
ALTER TABLE variable ADD COLUMN is_encrypted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connection ADD COLUMN is_encrypted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connection ADD COLUMN is_extra_encrypted INTEGER NOT NULL DEFAULT 0;
