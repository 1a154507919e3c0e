# expect-run: map_index_template | run=success | load[0]=success, load[1]=success
# expect-log: Rendered map_index_template: table orders
"""map_index_template names each mapped instance after its argument."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("map_index_template", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator.partial(task_id="load", map_index_template="table {{ task.env['TABLE'] }}", bash_command="echo loading $TABLE").expand(
        env=[{"TABLE": "orders"}, {"TABLE": "customers"}]
    )
