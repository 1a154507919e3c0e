# expect-run: airflow3_assets_outlets | run=success | publish=success
"""An Airflow 3 file publishing an asset."""
from datetime import datetime

from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.bash import BashOperator

with DAG("airflow3_assets_outlets", start_date=datetime(2025, 1, 1)):
    BashOperator(task_id="publish", bash_command="echo published", outlets=[Asset("s3://bucket/report.parquet")])
