# expect-run: short_circuit_direct | run=success | check=success, report=skipped, always=success
"""ShortCircuitOperator that skips only its direct downstream task, leaving trigger rules to decide the rest."""
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import ShortCircuitOperator

with DAG("short_circuit_direct", start_date=datetime(2024, 1, 1), schedule=None):
    check = ShortCircuitOperator(task_id="check", python_callable=lambda: 0, ignore_downstream_trigger_rules=False)
    report = EmptyOperator(task_id="report")
    always = EmptyOperator(task_id="always", trigger_rule="all_done")
    check >> report >> always
