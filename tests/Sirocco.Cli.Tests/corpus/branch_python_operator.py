# expect-run: branch_python_operator | run=success | choose=success, weekday_path=skipped, weekend_path=success, join=success
"""BranchPythonOperator choosing a path by the logical date; the join runs after whichever branch ran."""
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator


def pick(logical_date=None, **context):
    day = datetime.fromisoformat(logical_date).weekday()
    return "weekend_path" if day >= 5 else "weekday_path"


with DAG("branch_python_operator", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    choose = BranchPythonOperator(task_id="choose", python_callable=pick)
    weekday = EmptyOperator(task_id="weekday_path")
    weekend = EmptyOperator(task_id="weekend_path")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    choose >> [weekday, weekend] >> join
