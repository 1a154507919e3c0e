-- 0009: a user's first and last name, as Airflow's `airflow users create --firstname --lastname` records them.
ALTER TABLE app_user ADD COLUMN first_name TEXT;
ALTER TABLE app_user ADD COLUMN last_name TEXT;
