# expect-run: expand_literal_dict | run=success | show[0]=success, show[1]=success
# expect-log: colour=blue
"""Mapping over a dict literal: each item is a (key, value) pair."""
from datetime import datetime

from airflow.decorators import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def expand_literal_dict():
    @task
    def show(pair):
        key, value = pair
        print(f"{key}={value}")

    show.expand(pair={"colour": "blue", "size": "large"})


expand_literal_dict()
