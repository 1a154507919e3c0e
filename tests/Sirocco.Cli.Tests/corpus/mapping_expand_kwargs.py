# expect-run: mapping_expand_kwargs | run=success | greet[0]=success, greet[1]=success
# expect-log: hello from eu-west1
"""BashOperator mapped with expand_kwargs: each item sets several arguments."""
import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("mapping_expand_kwargs", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    BashOperator.partial(task_id="greet").expand_kwargs([
        {"bash_command": "echo hello from $REGION", "env": {"REGION": "us-central1"}},
        {"bash_command": "echo hello from $REGION", "env": {"REGION": "eu-west1"}},
    ])
