-- 0010: the name a mapped task instance shows instead of its index (Airflow's rendered map_index_template).
ALTER TABLE task_instance ADD COLUMN rendered_map_index TEXT;
