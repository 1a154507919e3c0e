# expect-run: taskflow_multiple_outputs | run=success | split=success, use=success
# expect-log: first=a second=b
"""multiple_outputs=True: each key of the result is an output of its own."""
from datetime import datetime

from airflow.decorators import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def taskflow_multiple_outputs():
    @task(multiple_outputs=True)
    def split():
        return {"first": "a", "second": "b"}

    @task
    def use(first, second):
        print(f"first={first} second={second}")

    parts = split()
    use(parts["first"], parts["second"])


taskflow_multiple_outputs()
