# expect-run: mapping_taskflow_reduce | run=success | make_list=success, add_one[0]=success, add_one[1]=success, add_one[2]=success, sum_it=success
# expect-log: total was 9
"""Map a TaskFlow function over an upstream list and reduce the results, as in Airflow's mapping documentation."""
from datetime import datetime

from airflow.decorators import dag, task


@dag(start_date=datetime(2022, 3, 4), schedule=None)
def mapping_taskflow_reduce():
    @task
    def make_list():
        return [1, 2, 3]

    @task
    def add_one(x: int):
        return x + 1

    @task
    def sum_it(values):
        total = sum(values)
        print(f"total was {total}")
        return total

    sum_it(add_one.expand(x=make_list()))


mapping_taskflow_reduce()
