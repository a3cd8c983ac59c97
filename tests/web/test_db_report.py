"""hpopt.report() on the database takes a hand-written SQL path
(studies/storage_sql.py). These check what a user sees through it, on SQLite
and on PostgreSQL: every score stored once, a repeated iteration replacing
its score with the trial's best following, the report time the hang detector
reads, and a meta change inside one lock seen by the next decision."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import hpopt
from studies.models import Score, Trial
from studies.storage import DbStorage
from tests.conftest import claim, stored_scores

pytestmark = pytest.mark.django_db

STEADY = dict(search_alg="bayes_opt", num_trials=2, max_iterations=8, parallelism=1, start=True, mode="max")


@pytest.fixture
def running(make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    return trial, claim(trial)


def test_reports_store_each_score_once_and_keep_the_best(running):
    trial, config = running
    for score in (0.2, 0.7, 0.5):
        assert hpopt.report(config, score) == hpopt.Status.RUNNING
    trial.refresh_from_db()
    assert stored_scores(trial) == [(1, 0.2), (2, 0.7), (3, 0.5)]
    assert (trial.best_score, trial.last_iteration, trial.state) == (0.7, 3, "running")


def test_a_repeated_iteration_replaces_the_best_and_gets_a_new_row(running):
    trial, config = running
    hpopt.report(config, 0.9)
    hpopt.report(config, 0.3)
    old_id = Score.objects.get(trial=trial, iteration=1).pk

    hpopt.report(config, 0.1, iteration=1)

    trial.refresh_from_db()
    assert stored_scores(trial) == [(1, 0.1), (2, 0.3)]
    assert trial.best_score == 0.3  # 0.9 is gone, so it is no longer the best
    assert Score.objects.get(trial=trial, iteration=1).pk > old_id  # the live pages' cursor sees it


def test_the_same_value_reported_again_keeps_its_row(running):
    trial, config = running
    hpopt.report(config, 0.4)
    first = Score.objects.get(trial=trial, iteration=1).pk

    hpopt.report(config, 0.4, iteration=1)

    assert list(Score.objects.filter(trial=trial).values_list("pk", flat=True)) == [first]


def test_a_report_writes_the_time_the_hang_detector_reads(running):
    trial, config = running
    assert trial.last_report is None
    before = timezone.now()
    hpopt.report(config, 0.4)
    trial.refresh_from_db()
    first = trial.last_report
    assert first is not None and first >= before
    hpopt.report(config, 0.5)
    trial.refresh_from_db()
    assert trial.last_report > first


def test_the_storage_says_when_a_score_replaced_another(running):
    """What the engine recomputes the trial's best from (the report time is
    the trial's own field, written with the trial by the engine)."""
    trial, _ = running
    storage = DbStorage(trial.study_id)
    with storage.locked():
        assert storage.add_score(0, 1, 0.5) is False
        assert storage.add_score(0, 1, 0.5) is False
        assert storage.add_score(0, 1, 0.6) is True
    assert stored_scores(trial) == [(1, 0.6)]


def test_a_meta_change_inside_the_lock_is_what_the_next_load_sees(running):
    trial, _ = running
    storage = DbStorage(trial.study_id)
    with storage.locked():
        meta = storage.load_meta()
        meta["error"] = "stop here"
        storage.save_meta(meta)
        assert storage.load_meta()["error"] == "stop here"
        with storage.locked() as nested:  # what a decision inside the same lock reads
            assert nested["error"] == "stop here"
    trial.study.refresh_from_db()
    assert trial.study.error == "stop here"


def test_a_report_is_a_handful_of_statements(running):
    """One lock (with the meta), the trial, the score, the trial again: the
    statement count is what the report latency target rests on."""
    trial, config = running
    hpopt.report(config, 0.4)
    with CaptureQueriesContext(connection) as ctx:
        hpopt.report(config, 0.5)
    sql = [q["sql"] for q in ctx.captured_queries
           if q["sql"] not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")
           and "SAVEPOINT" not in q["sql"] and not q["sql"].startswith("SET LOCAL")]
    assert len(sql) == 4, sql
    assert Trial.objects.get(pk=trial.pk).best_score == 0.5


def synchronous_commit_in_a_decision(study_id) -> str:
    with DbStorage(study_id).locked(), connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        return cur.fetchone()[0]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a PostgreSQL setting")
def test_decisions_do_not_wait_for_the_disk_unless_asked(transactional_db, make_study, settings):
    trial = make_study(**STEADY).trials.get(number=0)  # each lock its own transaction here
    assert synchronous_commit_in_a_decision(trial.study_id) == "off"
    settings.HPOPT_DURABLE_COMMIT = True
    assert synchronous_commit_in_a_decision(trial.study_id) == "on"


def test_the_best_config_is_the_trial_that_ended_best_not_the_best_epoch(api, make_study):
    study = make_study(**{**STEADY, "parallelism": 2})  # both trials created at the start
    for number, (peak, end) in enumerate([(0.9, 0.5), (0.7, 0.8)]):
        trial = study.trials.get(number=number)
        config = claim(trial)
        for epoch in range(1, config["iterations"] + 1):
            hpopt.report(config, peak if epoch == 1 else end, iteration=epoch)

    best = api.get(f"/api/studies/{study.pk}/best-config").json()

    assert (best["trial"], best["score"], best["best_score"]) == (1, 0.8, 0.8)
    trials = {t["number"]: t for t in api.get(f"/api/studies/{study.pk}").json()["trials"]}
    assert (trials[0]["best_score"], trials[0]["last_score"]) == (0.9, 0.5)
