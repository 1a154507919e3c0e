# expect-run: task_group_decorator | run=success | start=success, clean.extract=success, clean.scrub=success, clean__1.extract=success, clean__1.scrub=success, report=success
# expect-log: scrubbed 2 rows for eu
"""@task_group in the TaskFlow style: the group's function called twice makes two groups."""
from datetime import datetime

from airflow.decorators import dag, task, task_group


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def task_group_decorator():
    @task
    def start():
        return ["us", "eu"]

    @task_group
    def clean(region):
        @task
        def extract(region):
            return {"region": region, "rows": 2}

        @task
        def scrub(data):
            print(f"scrubbed {data['rows']} rows for {data['region']}")
            return data["rows"]

        return scrub(extract(region))

    @task
    def report(a, b):
        return a + b

    start()
    report(clean("us"), clean("eu"))


task_group_decorator()
