# expect-run: taskflow_etl | run=success | extract=success, transform=success, load=success
# expect-log: Total order value: 1236.7
"""A TaskFlow ETL in the style of the tutorial DAGs: dicts passed between functions through XCom."""
import json

import pendulum
from airflow.decorators import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2021, 1, 1, tz="UTC"), catchup=False, tags=["example"])
def taskflow_etl():
    @task()
    def extract():
        data_string = '{"1001": 301.27, "1002": 433.21, "1003": 502.22}'
        return json.loads(data_string)

    @task(multiple_outputs=True)
    def transform(order_data_dict: dict):
        total_order_value = 0
        for value in order_data_dict.values():
            total_order_value += value
        return {"total_order_value": round(total_order_value, 2)}

    @task()
    def load(total_order_value: float):
        print(f"Total order value: {total_order_value}")

    order_summary = transform(extract())
    load(order_summary["total_order_value"])


taskflow_etl()
