# expect-run: short_circuit_taskflow_true | run=success | has_data=success, process=success
"""@task.short_circuit whose condition holds: the downstream task runs."""
from datetime import datetime

from airflow.decorators import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def short_circuit_taskflow_true():
    @task.short_circuit
    def has_data():
        return {"rows": 3}

    @task
    def process():
        return "processed"

    has_data() >> process()


short_circuit_taskflow_true()
