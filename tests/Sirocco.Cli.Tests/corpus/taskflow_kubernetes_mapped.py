# expect-run: taskflow_kubernetes_mapped | run=success | square[0]=success, square[1]=success, square[2]=success, total=success
# expect-log: sum of squares 14
"""@task.kubernetes mapped over a literal list, reduced by a @task."""
from datetime import datetime

from airflow.decorators import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def taskflow_kubernetes_mapped():
    @task.kubernetes(image="python:3.12-slim", namespace="default")
    def square(n):
        return n * n

    @task
    def total(values):
        print(f"sum of squares {sum(values)}")

    total(square.expand(n=[1, 2, 3]))


taskflow_kubernetes_mapped()
