-- 0004: who set a task instance's state from outside the scheduler (user and channel), shown in the try's log when
-- the change ends a running try; null when the scheduler set the state.
ALTER TABLE task_instance ADD COLUMN changed_by TEXT;
