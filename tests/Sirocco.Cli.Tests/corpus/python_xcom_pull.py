# expect-run: python_xcom_pull | run=success | push=success, pull=success
# expect-log: pulled {'value': 7} from push
"""PythonOperator pulling an upstream result with ti.xcom_pull, the Airflow 1 style still common in Composer."""
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def push_value():
    return {"value": 7}


def pull_value(**kwargs):
    ti = kwargs["ti"]
    print(f"pulled {ti.xcom_pull(task_ids='push')} from push")


with DAG("python_xcom_pull", start_date=datetime(2024, 1, 1), schedule=None):
    push = PythonOperator(task_id="push", python_callable=push_value)
    pull = PythonOperator(task_id="pull", python_callable=pull_value)
    push >> pull
