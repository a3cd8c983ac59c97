"""Fault: the web server dies (SIGKILL) in the middle of a study and is
started again. Nothing of a study lives in the web process: workers go on
reporting to the database and take the next trials themselves, and the
restarted server answers for the study at once."""
import json

import pytest

from studies.models import ApiToken, Study
from tests.conftest import study_data, wait_for
from tests.system.invariants import FAULT_STUDY, check_invariants
from tests.system.services import WebServer

pytestmark = pytest.mark.system


def test_a_study_survives_a_web_server_restart(alice, trainers, workers, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    for _ in range(2):
        workers.start(HPOPT_TEST_EPOCH_SECONDS=0.4, HPOPT_HEARTBEAT_TIMEOUT=4, HPOPT_TEST_REPORT_DIR=reports)
    web = WebServer(tmp_path / "web.log")
    token = ApiToken.issue(alice)
    web.start()
    try:
        status, body = web.request("/api/studies", token, json.dumps(study_data(**FAULT_STUDY)).encode())
        assert status == 201, body
        study = Study.objects.get(pk=json.loads(body)["id"])
        path = f"/api/studies/{study.pk}"
        wait_for(lambda: study.scores.count() >= 3, 60, message="the study to be under way")

        web.kill()
        assert web.request(path, token) == (None, b"")
        scores_before = study.scores.count()
        wait_for(lambda: study.scores.count() > scores_before + 2, 30, message="reports while the web server is down")
        web.start()

        assert web.request(path, token)[0] == 200
        assert web.request(f"{path}/pause", token, b"")[0] == 200
        wait_for(lambda: not study.trials.filter(state="running").exists(), 60, message="the running trials to pause")
        assert web.request(f"{path}/resume", token, b"")[0] == 200

        def finished():
            status, body = web.request(path, token)
            assert status == 200, (status, body[:300])
            return json.loads(body)["study"]["state"] not in ("running", "paused")

        wait_for(finished, 180, interval=0.25, message="the study to finish")
    finally:
        web.kill()
    study.refresh_from_db()
    assert study.state == "completed", study.error
    check_invariants(study, reports)
