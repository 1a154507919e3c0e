# expect-run: python_operator_templates | run=success | render=success
# expect-log: table=sales_20240106 region=emea
"""PythonOperator with templated op_kwargs and templates_dict, as Airflow renders them before the call."""
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def render(table, templates_dict=None, **context):
    print(f"table={table} region={templates_dict['region']}")


with DAG("python_operator_templates", start_date=datetime(2024, 1, 1), schedule=None, params={"region": "emea"}):
    PythonOperator(
        task_id="render",
        python_callable=render,
        op_kwargs={"table": "sales_{{ ds_nodash }}"},
        templates_dict={"region": "{{ params.region }}"},
    )
