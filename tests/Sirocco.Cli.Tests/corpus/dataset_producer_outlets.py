# expect-run: dataset_producer_outlets | run=success | write_orders=success
"""A producer task with outlets (Airflow 2 datasets): its success records an update of the dataset."""
from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.bash import BashOperator

orders = Dataset("gs://composer-bucket/data/orders.csv")

with DAG("dataset_producer_outlets", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False):
    BashOperator(task_id="write_orders", bash_command="echo writing orders", outlets=[orders])
