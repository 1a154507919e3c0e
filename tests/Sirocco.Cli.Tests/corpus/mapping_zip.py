# expect-run: mapping_zip | run=success | names=success, ages=success, pair[0]=success, pair[1]=success, pair[2]=success
# expect-log: carol is unknown
"""Two outputs zipped side by side with a fill value, then mapped."""
from datetime import datetime

from airflow.decorators import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def mapping_zip():
    @task
    def names():
        return ["alice", "bob", "carol"]

    @task
    def ages():
        return [31, 42]

    @task
    def pair(item):
        name, age = item
        print(f"{name} is {age if age is not None else 'unknown'}")

    pair.expand(item=names().zip(ages(), fillvalue=None))


mapping_zip()
