# expect-run: kpo_callbacks_class | run=success | report=success, publish=success
# expect-log: [callbacks] report finished with exit code 0 on pod report
# expect-log: [callbacks] cleaned up report in default
"""callbacks=: a KubernetesPodOperatorCallback subclass reports the pod's end and its cleanup, in the provider's style."""
from __future__ import annotations

from datetime import datetime

import kubernetes.client as k8s
from airflow import DAG
from airflow.providers.cncf.kubernetes.callbacks import KubernetesPodOperatorCallback
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

PREFIX = "[callbacks]"


class ReportingCallback(KubernetesPodOperatorCallback):
    """Says how each pod ended, then that it is gone."""

    @staticmethod
    def on_pod_completion(*, pod: k8s.V1Pod, client: k8s.CoreV1Api, mode: str, operator, **kwargs) -> None:
        state = pod.status.container_statuses[0].state.terminated
        print(PREFIX, operator.task_id, "finished with exit code", state.exit_code, "on pod", pod.metadata.name.rsplit("-", 1)[0])

    @staticmethod
    def on_pod_cleanup(*, pod: k8s.V1Pod, client: k8s.CoreV1Api, mode: str, **kwargs) -> None:
        print(PREFIX, "cleaned up", pod.metadata.labels["task_id"], "in", pod.metadata.namespace)


with DAG("kpo_callbacks_class", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    report = KubernetesPodOperator(
        task_id="report",
        name="report",
        image="busybox",
        cmds=["sh", "-c", "echo building the report"],
        callbacks=ReportingCallback,
        on_finish_action="delete_pod",
    )
    publish = KubernetesPodOperator(task_id="publish", name="publish", image="busybox", cmds=["echo", "published"])
    report >> publish
