"""Fault: PostgreSQL stops for a few seconds while workers report (only when
the suite runs on PostgreSQL: DATABASE_URL=postgres://...).

A report made while the database is away retries (studies.storage.DbStorage.
retrying: the broken connection is closed, the whole read-decide-write runs
again) until the database is back, so no score is lost and none is stored
twice; heartbeats and sweeps reconnect on their next round; the dashboard
answers 503 meanwhile (never a crash page) and 200 again after. The cluster
is always started again, whatever happens in the test."""
import time

import pytest
from django.db import connection, connections

from tests.conftest import wait_for
from tests.system.invariants import (
    check_invariants,
    dashboard_answers,
    pause_and_resume,
    start_study,
    wait_until_finished,
)
from tests.system.services import pg_ctl, postgres_answers, postgres_cluster, wait_for_postgres

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="stops PostgreSQL: runs on the PostgreSQL run only"),
]

DOWN_SECONDS = 5


@pytest.fixture
def cluster():
    if postgres_cluster() is None or not postgres_answers():
        pytest.skip("no local PostgreSQL cluster that pg_ctlcluster controls")
    yield
    if not postgres_answers():  # never leave it stopped
        pg_ctl("start")
        wait_for_postgres()


def test_reports_made_while_postgres_is_down_are_stored_once_it_is_back(cluster, api, trainers, workers, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    env = dict(HPOPT_TEST_EPOCH_SECONDS=0.4, HPOPT_HEARTBEAT_TIMEOUT=10, HPOPT_TEST_REPORT_DIR=reports)
    for _ in range(3):
        workers.start(**env)
    study = start_study(api)
    wait_for(lambda: study.scores.count() >= 4, 60, message="the study to be under way")

    answers = []
    pg_ctl("stop")
    try:
        down_until = time.monotonic() + DOWN_SECONDS
        while time.monotonic() < down_until:
            answers.append(api.get(f"/api/studies/{study.pk}").status_code)
            time.sleep(0.25)
    finally:
        pg_ctl("start")
        wait_for_postgres()
    connections.close_all()  # this process's connections broke with the server
    assert set(answers) == {503}, answers

    scores_after_restart = study.scores.count()
    wait_for(lambda: dashboard_answers(api, study) and study.scores.count() > scores_after_restart + 3, 60,
             interval=0.25, message="reports to go on after the restart")
    pause_and_resume(api, study)
    study = wait_until_finished(api, study, 240)
    assert study.state == "completed", study.error
    states = set(study.trials.values_list("state", flat=True))
    broken = list(study.trials.exclude(state__in=["completed", "stopped"]).values_list("number", "state", "error"))
    assert states <= {"completed", "stopped"}, f"a trial failed with the outage: {broken}"
    check_invariants(study, reports)


def test_a_restart_between_two_reports_keeps_the_trial_in_its_attempt(cluster, api, trainers, workers, tmp_path):
    """The trainer's connection dies with the server between two of its
    reports: the next report meets the dead connection, retries on a new one,
    and the trial goes on in the same attempt with every score stored."""
    reports = tmp_path / "reports"
    reports.mkdir()
    workers.start(HPOPT_TEST_EPOCH_SECONDS=5, HPOPT_HEARTBEAT_TIMEOUT=60, HPOPT_TEST_REPORT_DIR=reports)
    study = start_study(api, search_alg="bayes_opt", num_trials=1, max_iterations=3, parallelism=1)
    trial = study.trials.get()
    wait_for(lambda: trial.scores.exists(), 60, message="the first report")
    first_report = trial.scores.get().created
    pg_ctl("restart")
    wait_for_postgres()
    connections.close_all()
    restarted = time.time()
    assert restarted - first_report.timestamp() < 5, "the restart fell between the first two reports"

    study = wait_until_finished(api, study, 120)
    trial.refresh_from_db()
    assert (study.state, trial.state, trial.attempt) == ("completed", "completed", 1), trial.error
    assert trial.scores.get(iteration=2).created.timestamp() > restarted, "the second report came after the restart"
    assert sorted(trial.scores.values_list("iteration", flat=True)) == [1, 2, 3]
    check_invariants(study, reports)
