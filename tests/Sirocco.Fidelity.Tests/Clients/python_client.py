#!/usr/bin/python3
"""Client conformance: the official Python client (Debian's python3-kubernetes), called the way Airflow's
KubernetesPodOperator and its PodManager call it, against one cluster.

Usage: python_client.py KUBECONFIG NAMESPACE WHERE [CHECK,...]
  WHERE is "local" (every check) or "real" (the checks that need no kubelet: the reference server's fake kubelet runs
  no processes).
Prints one line per check, "PASS name" or "FAIL name: reason", and exits 0 (the caller asserts each line).
"""
import json
import re
import sys
import time
import traceback

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

CHECKS = []
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


def check(kubelet=False, local_only=False):
    def register(fn):
        CHECKS.append((fn.__name__, fn, kubelet or local_only))
        return fn
    return register


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def api_error(fn, *args, **kwargs):
    """Calls fn and returns the ApiException it raises; fails when it raises none."""
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        return e
    raise AssertionError(f"{fn.__name__} raised no ApiException")


def wait_gone(read, name, ns, seconds=30):
    deadline = time.time() + seconds
    while True:
        try:
            read(name, ns)
        except ApiException as e:
            expect(e.status == 404, f"reading {name} after its delete gave {e.status}")
            return
        expect(time.time() < deadline, f"{name} still exists {seconds} s after its delete")
        time.sleep(0.2)


def pod(name, command, labels=None, extra_containers=(), volumes=None, mounts=None):
    container = client.V1Container(name="base", image="busybox:1.36", command=command, volume_mounts=mounts)
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
        spec=client.V1PodSpec(restart_policy="Never", containers=[container, *extra_containers], volumes=volumes),
    )


def wait_phase(v1, ns, name, phases, seconds=60):
    """Waits on a watch, as the PodManager does, until the pod reaches one of the phases."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        current = v1.read_namespaced_pod(name, ns)
        if current.status.phase in phases:
            return current
        w = watch.Watch()
        for event in w.stream(v1.list_namespaced_pod, ns, field_selector=f"metadata.name={name}",
                              resource_version=current.metadata.resource_version, timeout_seconds=5):
            if event["object"].status.phase in phases:
                w.stop()
                return event["object"]
    raise AssertionError(f"pod {name} did not reach {phases} within {seconds} s")


# ---- API checks (both clusters) ----

@check()
def create_read_and_list_pod(v1, ns):
    created = v1.create_namespaced_pod(ns, pod("p-create", ["sleep", "3600"], labels={"app": "c"}))
    read = v1.read_namespaced_pod("p-create", ns)
    expect(read.metadata.uid == created.metadata.uid, "read gave another uid")
    expect(read.spec.containers[0].image_pull_policy == "IfNotPresent", f"pull policy {read.spec.containers[0].image_pull_policy}")
    listed = v1.list_namespaced_pod(ns, label_selector="app=c")
    expect([p.metadata.name for p in listed.items] == ["p-create"], f"listed {[p.metadata.name for p in listed.items]}")


@check()
def errors_404_409_422(v1, ns):
    e = api_error(v1.read_namespaced_pod, "missing", ns)
    body = json.loads(e.body)
    expect(e.status == 404 and body["reason"] == "NotFound" and body["details"]["name"] == "missing", f"404: {e.status} {e.body}")
    v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dup")))
    e = api_error(v1.create_namespaced_config_map, ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dup")))
    expect(e.status == 409 and json.loads(e.body)["reason"] == "AlreadyExists", f"409: {e.status} {e.body}")
    bad = pod("p-invalid", ["true"])
    bad.spec.containers[0].name = "Bad_Name"
    e = api_error(v1.create_namespaced_pod, ns, bad)
    causes = json.loads(e.body)["details"]["causes"]
    expect(e.status == 422 and any(c["field"] == "spec.containers[0].name" for c in causes), f"422: {e.status} {e.body}")


@check()
def list_by_label_and_field_selector(v1, ns):
    for name, app in (("sel-a", "web"), ("sel-b", "db"), ("sel-c", "web")):
        v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"app": app})))
    web = sorted(c.metadata.name for c in v1.list_namespaced_config_map(ns, label_selector="app=web").items)
    expect(web == ["sel-a", "sel-c"], f"app=web gave {web}")
    notweb = sorted(c.metadata.name for c in v1.list_namespaced_config_map(ns, label_selector="app,app!=web").items)
    expect(notweb == ["sel-b"], f"app,app!=web gave {notweb}")
    named = [c.metadata.name for c in v1.list_namespaced_config_map(ns, field_selector="metadata.name=sel-b").items]
    expect(named == ["sel-b"], f"metadata.name=sel-b gave {named}")
    page = v1.list_namespaced_config_map(ns, label_selector="app", limit=2)
    expect(len(page.items) == 2 and page.metadata._continue, "limit=2 gave no continue token")
    rest = v1.list_namespaced_config_map(ns, label_selector="app", limit=2, _continue=page.metadata._continue)
    expect(len(rest.items) == 1, f"the second page had {len(rest.items)}")


@check()
def watch_from_resource_version_with_selector(v1, ns):
    rv = v1.list_namespaced_pod(ns, label_selector="app=w").metadata.resource_version
    v1.create_namespaced_pod(ns, pod("p-watch", ["sleep", "3600"], labels={"app": "w"}))
    v1.create_namespaced_pod(ns, pod("p-other", ["sleep", "3600"], labels={"app": "x"}))
    v1.patch_namespaced_pod("p-watch", ns, {"metadata": {"labels": {"step": "two"}}})
    seen = []
    w = watch.Watch()
    for event in w.stream(v1.list_namespaced_pod, ns, label_selector="app=w", resource_version=rv, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name, event["object"].metadata.labels.get("step")))
        if len(seen) == 1 and seen[0][0] == "ADDED":
            continue
        if event["object"].metadata.labels.get("step") == "two":
            w.stop()
    expect(seen[0] == ("ADDED", "p-watch", None), f"first event {seen[:1]}")
    expect(("MODIFIED", "p-watch", "two") in seen, f"no MODIFIED with the new label in {seen}")
    expect(all(name == "p-watch" for _, name, _ in seen), f"the selector let through {seen}")


@check()
def watch_bookmarks_and_timeout(v1, ns):
    start = time.time()
    w = watch.Watch()
    events = list(w.stream(v1.list_namespaced_config_map, ns, label_selector="none=here", timeout_seconds=1))
    expect(events == [], f"events on an empty selection: {events}")
    expect(time.time() - start < 8, f"timeout_seconds=1 watch lasted {time.time() - start:.1f} s")


@check(local_only=True)
def watch_too_old_is_410(v1, ns):
    # Version 1 is from before the local cluster's restart (the fixture starts it twice). The reference server answers
    # 410 for it only once its watch cache has moved past version 1, which a freshly built server has not.
    try:
        for _ in watch.Watch().stream(v1.list_namespaced_config_map, ns, resource_version="1", timeout_seconds=5):
            pass
    except ApiException as e:
        expect(e.status == 410, f"status {e.status}")
        return
    raise AssertionError("a watch from version 1 ended without 410")


@check()
def delete_with_grace_and_propagation(v1, ns):
    v1.create_namespaced_pod(ns, pod("p-delete", ["sleep", "3600"]))
    v1.delete_namespaced_pod("p-delete", ns, body=client.V1DeleteOptions(grace_period_seconds=0, propagation_policy="Background"))
    wait_gone(v1.read_namespaced_pod, "p-delete", ns)
    v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm-fg")))
    # Foreground: the object may linger with the foregroundDeletion finalizer until the garbage collector removes it.
    v1.delete_namespaced_config_map("cm-fg", ns, propagation_policy="Foreground", grace_period_seconds=5)
    wait_gone(v1.read_namespaced_config_map, "cm-fg", ns)
    v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm-bad")))
    e = api_error(v1.delete_namespaced_config_map, "cm-bad", ns, body=client.V1DeleteOptions(propagation_policy="Sometimes"))
    expect(e.status == 422 and "propagationPolicy" in e.body, f"bad propagation gave {e.status} {e.body}")
    expect(v1.read_namespaced_config_map("cm-bad", ns).metadata.deletion_timestamp is None, "a refused delete deleted")


@check()
def events_by_field_selector(v1, ns):
    for name, obj in (("ev-1", "target"), ("ev-2", "other")):
        v1.create_namespaced_event(ns, client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=name),
            involved_object=client.V1ObjectReference(kind="Pod", name=obj, namespace=ns),
            reason="Testing", message="m", type="Normal"))
    events = v1.list_namespaced_event(ns, field_selector="involvedObject.name=target").items
    expect([e.metadata.name for e in events] == ["ev-1"], f"gave {[e.metadata.name for e in events]}")


# ---- Checks that need a kubelet running the containers (local cluster) ----

@check(kubelet=True)
def pod_runs_and_kubelet_events(v1, ns):
    v1.create_namespaced_pod(ns, pod("p-events", ["sh", "-c", "exit 0"]))
    done = wait_phase(v1, ns, "p-events", ("Succeeded", "Failed"))
    expect(done.status.phase == "Succeeded", f"phase {done.status.phase}")
    reasons = [e.reason for e in v1.list_namespaced_event(ns, field_selector="involvedObject.name=p-events").items]
    expect("Scheduled" in reasons and "Started" in reasons, f"events {reasons}")


@check(kubelet=True)
def logs_with_every_option(v1, ns):
    v1.create_namespaced_pod(ns, pod("p-logs", ["sh", "-c", "echo one; echo two; echo three"]))
    wait_phase(v1, ns, "p-logs", ("Succeeded",))
    plain = v1.read_namespaced_pod_log("p-logs", ns)
    expect(plain == "one\ntwo\nthree\n", f"plain log {plain!r}")
    stamped = v1.read_namespaced_pod_log("p-logs", ns, timestamps=True).splitlines()
    expect(len(stamped) == 3 and all(TIMESTAMP.match(line) for line in stamped), f"timestamps=True gave {stamped}")
    expect(v1.read_namespaced_pod_log("p-logs", ns, tail_lines=1) == "three\n", "tail_lines=1")
    expect(v1.read_namespaced_pod_log("p-logs", ns, limit_bytes=3) == "one", "limit_bytes=3")
    expect(v1.read_namespaced_pod_log("p-logs", ns, since_seconds=3600).count("\n") == 3, "since_seconds=3600")
    expect(v1.read_namespaced_pod_log("p-logs", ns, container="base", follow=False, previous=False) == plain, "container and False flags")
    e = api_error(v1.read_namespaced_pod_log, "p-logs", ns, tail_lines=-1)
    expect(e.status == 422, f"tail_lines=-1 gave {e.status}")


@check(kubelet=True)
def follow_logs_and_resume_as_airflow_does(v1, ns):
    v1.create_namespaced_pod(ns, pod("p-follow", ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.5; done"]))
    wait_phase(v1, ns, "p-follow", ("Running", "Succeeded"))
    # The provider's fetch_container_logs: follow, timestamps, streamed without preloading.
    response = v1.read_namespaced_pod_log("p-follow", ns, container="base", follow=True, timestamps=True, _preload_content=False)
    lines = []
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            lines.append(line.decode())
    response.release_conn()
    expect([line.split(" ", 1)[1] for line in lines] == ["line1", "line2", "line3"], f"followed {lines}")
    expect(all(TIMESTAMP.match(line) for line in lines), f"no timestamps in {lines}")
    # Resumption: from the last line's time the provider asks for since_seconds and drops what it already had.
    last = lines[-1].split(" ", 1)[0]
    again = v1.read_namespaced_pod_log("p-follow", ns, timestamps=True, since_seconds=3600).splitlines()
    expect(again[-1].split(" ", 1)[0] == last, f"the timestamps changed between reads: {last} vs {again[-1]}")


def exec_command(response, command, timeout=20):
    """The provider's _exec_pod_command: write a command line to the shell, read stdout until something comes."""
    response.write_stdin(command + "\n")
    deadline = time.time() + timeout
    out = ""
    while response.is_open() and time.time() < deadline:
        response.update(timeout=1)
        while response.peek_stdout():
            out += response.read_stdout()
        if out:
            return out
    return out


@check(kubelet=True)
def exec_with_stdin_as_the_xcom_sidecar(v1, ns):
    volume = client.V1Volume(name="xcom", empty_dir=client.V1EmptyDirVolumeSource())
    mount = [client.V1VolumeMount(name="xcom", mount_path="/airflow/xcom")]
    sidecar = client.V1Container(name="airflow-xcom-sidecar", image="alpine", command=["sh", "-c", "trap 'exit 0' INT; while true; do sleep 1; done"], volume_mounts=mount)
    v1.create_namespaced_pod(ns, pod("p-xcom", ["sh", "-c", "echo '{\"a\": 1}' > /airflow/xcom/return.json"], extra_containers=[sidecar], volumes=[volume], mounts=mount))
    deadline = time.time() + 60
    while True:
        statuses = v1.read_namespaced_pod("p-xcom", ns).status.container_statuses or []
        base = next((s for s in statuses if s.name == "base"), None)
        if base and base.state.terminated:
            break
        expect(time.time() < deadline, "the base container did not finish")
        time.sleep(0.2)
    response = stream(v1.connect_get_namespaced_pod_exec, "p-xcom", ns, container="airflow-xcom-sidecar", command=["/bin/sh"],
                      stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False)
    try:
        result = exec_command(response, "if [ -s /airflow/xcom/return.json ]; then cat /airflow/xcom/return.json; else echo __airflow_xcom_result_empty__; fi")
        expect(json.loads(result) == {"a": 1}, f"xcom {result!r}")
        # The provider sends "kill -s SIGINT 1" to its alpine sidecar's busybox shell. Host-process containers run the
        # host's /bin/sh, Debian's dash, whose kill builtin takes only "INT": the same signal, named as dash wants it.
        exec_command(response, "kill -s INT 1", timeout=2)
        expect(not response.peek_stderr(), f"kill failed: {response.read_stderr()!r}")
    finally:
        response.close()
    done = wait_phase(v1, ns, "p-xcom", ("Succeeded", "Failed"))
    expect(done.status.phase == "Succeeded", f"the sidecar did not stop on SIGINT: {done.status.phase}")


@check(kubelet=True)
def exec_exit_codes_and_streams(v1, ns):
    v1.create_namespaced_pod(ns, pod("p-exec", ["sleep", "3600"]))
    wait_phase(v1, ns, "p-exec", ("Running",))
    out = stream(v1.connect_get_namespaced_pod_exec, "p-exec", ns, command=["sh", "-c", "echo out; echo err >&2"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    expect("out\n" in out and "err\n" in out, f"preloaded output {out!r}")
    response = stream(v1.connect_get_namespaced_pod_exec, "p-exec", ns, command=["sh"], stdin=True, stdout=True, stderr=True,
                      tty=False, _preload_content=False)
    response.write_stdin("echo from-stdin; echo to-stderr >&2; exit 3\n")
    response.run_forever(timeout=20)
    expect(response.read_stdout() == "from-stdin\n", "stdout of the stdin session")
    expect(response.read_stderr() == "to-stderr\n", "stderr of the stdin session")
    expect(response.returncode == 3, f"returncode {response.returncode}")
    response.close()
    ok = stream(v1.connect_get_namespaced_pod_exec, "p-exec", ns, command=["true"], stdin=False, stdout=True, stderr=True,
                tty=False, _preload_content=False)
    ok.run_forever(timeout=20)
    expect(ok.returncode == 0, f"returncode of true: {ok.returncode}")
    ok.close()


@check(kubelet=True)
def exec_with_a_terminal_and_resize(v1, ns):
    v1.create_namespaced_pod(ns, pod("p-tty", ["sleep", "3600"]))
    wait_phase(v1, ns, "p-tty", ("Running",))
    response = stream(v1.connect_get_namespaced_pod_exec, "p-tty", ns, command=["sh", "-c", "read x; stty size; tty"],
                      stdin=True, stdout=True, stderr=False, tty=True, _preload_content=False)
    response.write_channel(4, json.dumps({"Width": 100, "Height": 40}))
    response.write_stdin("go\n")
    response.run_forever(timeout=20)
    out = response.read_stdout()
    response.close()
    expect("go\r\n" in out, f"the terminal did not echo: {out!r}")
    expect("40 100\r\n" in out, f"the window size did not arrive: {out!r}")
    expect(re.search(r"^/dev/pts/\d+\r$", out, re.M), f"no terminal name inside the container: {out!r}")


def main():
    kubeconfig, ns, where = sys.argv[1], sys.argv[2], sys.argv[3]
    only = set(sys.argv[4].split(",")) if len(sys.argv) > 4 else None
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    for name, fn, needs_local in CHECKS:
        if (needs_local and where != "local") or (only is not None and name not in only):
            continue
        try:
            fn(v1, ns)
            print(f"PASS {name}", flush=True)
        except Exception as e:  # every failure is reported on its line, with where it happened
            where_line = traceback.extract_tb(e.__traceback__)[-1].lineno
            reason = f"{type(e).__name__} (line {where_line}): {e}".replace("\n", " | ")
            print(f"FAIL {name}: {reason}", flush=True)


if __name__ == "__main__":
    main()
