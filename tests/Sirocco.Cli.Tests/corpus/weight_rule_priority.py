# expect-run: weight_rule_priority | run=success | urgent=success, routine=success
"""priority_weight and weight_rule accepted with their meaning; both tasks run."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.utils.weight_rule import WeightRule

with DAG("weight_rule_priority", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="urgent", bash_command="echo urgent", priority_weight=10, weight_rule=WeightRule.ABSOLUTE)
    BashOperator(task_id="routine", bash_command="echo routine", priority_weight=1)
