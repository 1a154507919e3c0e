# expect-run: taskflow_dict_annotation | run=success | totals=success, report=success
# expect-log: rows=3 bytes=1024
"""A @task annotated `-> dict` has multiple_outputs inferred, as Airflow does: each key is an output of its own."""
from __future__ import annotations

from datetime import datetime
from typing import Dict

from airflow.decorators import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def taskflow_dict_annotation():
    @task
    def totals() -> Dict[str, int]:
        return {"rows": 3, "bytes": 1024}

    @task
    def report(rows, size):
        print(f"rows={rows} bytes={size}")

    t = totals()
    report(t["rows"], t["bytes"])


taskflow_dict_annotation()
