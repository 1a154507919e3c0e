# expect-run: airflow3_sdk_taskflow | run=success | hello=success, shout=success
# expect-log: HELLO SIROCCO
"""An Airflow 3 DAG file: everything from airflow.sdk."""
from datetime import datetime

from airflow.sdk import dag, task


@dag(start_date=datetime(2025, 1, 1), params={"who": "sirocco"})
def airflow3_sdk_taskflow():
    @task
    def hello(params=None):
        return f"hello {params['who']}"

    @task
    def shout(text):
        print(text.upper())

    shout(hello())


airflow3_sdk_taskflow()
