"""``hpopt-web worker``: Ctrl-C stops every process it started, including the
work horse running a trial (RQ starts it in its own process group, out of
reach of the terminal's Ctrl-C)."""
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from runner.models import Worker
from studies.models import Study
from tests.conftest import ROOT, alive, children_of, database_url, kill_hard, study_data, wait_for

pytestmark = pytest.mark.system


@pytest.fixture
def cli_worker(transactional_db, redis_conn, tmp_path):
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "hpopt_web.test_settings", "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL, "PYTHONPATH": str(ROOT), "HPOPT_TRAINERS": "tests.trainers",
        "HPOPT_TEST_EPOCH_SECONDS": "2", "HPOPT_RESTART_MIN_UPTIME": "1",
    }
    log = open(tmp_path / "cli.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "hpopt_web.cli", "worker", "--count", "1"], cwd=str(ROOT),
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    pids = []
    yield proc, pids
    for pid in [*pids, *children_of(proc.pid)]:
        kill_hard(pid)
    kill_hard(proc.pid)
    proc.wait(10)
    log.close()


def test_ctrl_c_stops_the_workers_and_the_trial_they_run(cli_worker, api, trainers):
    proc, pids = cli_worker
    wait_for(lambda: Worker.objects.exists(), 60, message="the worker to register")
    # a trial of a minute: far longer than the 10 s hpopt-web gives a worker to finish its job
    r = api.post("/api/studies", study_data(trainer="slow", search_alg="bayes_opt", num_trials=1,
                                            num_full_iterations=30, max_iterations=30, parallelism=1, start=True))
    study = Study.objects.get(pk=r.json()["id"])
    wait_for(lambda: study.scores.exists(), 30, message="a first report")
    pids.extend(children_of(proc.pid))
    assert len(pids) == 3, "a worker, its work horse and the sweeper"

    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole foreground group
    proc.wait(timeout=30)
    left = {p: Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")[:120] for p in pids if alive(p)}
    assert left == {}, "hpopt-web worker exited and left processes running"
    assert study.scores.count() < 30, "the trial was stopped, not run to its end"


def test_a_worker_that_dies_is_started_again(cli_worker):
    """A worker killed outright (the kernel's OOM killer, a crash) is started
    again by hpopt-web worker after it had been up HPOPT_RESTART_MIN_UPTIME s;
    the supervisor itself keeps running."""
    proc, pids = cli_worker
    first = wait_for(lambda: Worker.objects.first(), 60, message="the worker to register")
    # up longer than HPOPT_RESTART_MIN_UPTIME: a crash, not a worker that cannot start
    wait_for(lambda: timezone.now() - first.started > timedelta(seconds=1.5), 10, message="a second of uptime")
    assert first.pid in children_of(proc.pid)
    kill_hard(first.pid)

    second = wait_for(lambda: Worker.objects.exclude(pk=first.pk).first(), 60, message="a new worker")
    assert second.pid != first.pid
    assert proc.poll() is None, "hpopt-web worker still runs"
    wait_for(lambda: Worker.objects.get(pk=second.pk).is_alive(settings.HPOPT_HEARTBEAT_TIMEOUT), 30,
             message="the new worker to be alive")
