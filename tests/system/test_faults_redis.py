"""Fault: Redis restarts (without persistence) in the middle of a study.

Every queue and job is gone with it. The workers survive (hpopt_worker
starts a new RQ worker once Redis answers again, after its work horse
finished the trial it ran), their sweeps enqueue the lost jobs again
(runner.sweeper.reconcile_jobs), trials whose work horse died with the
connection are run again (sweep_lost), and the dashboard, which needs no
Redis to read, answers all along."""
import time

import pytest

from runner.models import Worker
from tests.conftest import wait_for
from tests.system.invariants import (
    check_invariants,
    dashboard_answers,
    pause_and_resume,
    start_study,
    wait_until_finished,
)
from tests.system.services import RedisServer

pytestmark = pytest.mark.system

HEARTBEAT_TIMEOUT = 4  # the sweeps run every second
DOWN_SECONDS = 3


@pytest.fixture
def private_redis(settings, tmp_path):
    """A Redis of this test's own (the shared one must not restart), used by
    this process and by the workers it starts."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    settings.REDIS_URL = server.url
    settings.RQ_QUEUES = {"default": {"URL": server.url, "DEFAULT_TIMEOUT": -1}}
    yield server
    server.stop()


def test_a_study_survives_a_redis_restart(private_redis, api, trainers, workers, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    env = dict(HPOPT_TEST_EPOCH_SECONDS=0.4, HPOPT_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT, HPOPT_TEST_REPORT_DIR=reports)
    started = [workers.start(**env) for _ in range(3)]
    study = start_study(api)
    wait_for(lambda: study.scores.count() >= 4, 60, message="the study to be under way")

    private_redis.stop()
    down_until = time.monotonic() + DOWN_SECONDS
    while time.monotonic() < down_until:  # trials go on reporting to the database meanwhile
        dashboard_answers(api, study)
        time.sleep(0.25)
    scores_before = study.scores.count()
    private_redis.start()

    wait_for(lambda: dashboard_answers(api, study) and study.scores.count() > scores_before + 3, 60,
             interval=0.25, message="trials to run again after the restart")
    pause_and_resume(api, study)
    study = wait_until_finished(api, study, 240)
    assert study.state == "completed", study.error

    assert all(w.proc.poll() is None for w in started), "every worker outlived the restart\n" + workers.logs()
    live = Worker.objects.alive(HEARTBEAT_TIMEOUT).filter(name__in=[w.name for w in started])
    assert live.count() == len(started)
    check_invariants(study, reports)
