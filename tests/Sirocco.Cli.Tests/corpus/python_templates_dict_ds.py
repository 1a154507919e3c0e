# expect-run: python_templates_dict_ds | run=success | report=success
# expect-log: report for 20240106 in composer
"""PythonOperator with op_args rendered from the context and a constant of the file."""
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator

ENVIRONMENT = "composer"


def report(day):
    print(f"report for {day} in {ENVIRONMENT}")


with DAG("python_templates_dict_ds", start_date=datetime(2024, 1, 1), schedule=None):
    PythonOperator(task_id="report", python_callable=report, op_args=["{{ ds_nodash }}"])
