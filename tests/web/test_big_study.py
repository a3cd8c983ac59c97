"""The study endpoint for a big study (issue 13.2): the first load sends the
open trials and the curves worth drawing, plus aggregates chosen on the
server (studies.overview); the counts that every poll sends stay right as
trials finish, though finished trials are folded once per process
(studies.settled)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from benchmarks.poll_speed import fill
from studies import overview, settled
from studies.api import cursor

pytestmark = pytest.mark.django_db


@pytest.fixture
def big(make_study, monkeypatch):
    """300 trials, 4 running, treated as big (the thresholds lowered)."""
    monkeypatch.setattr(overview, "BIG", 100)
    monkeypatch.setattr(cursor, "FIRST_LOAD_TRIALS", 100)
    monkeypatch.setattr(cursor, "FIRST_LOAD_CURVES", 10)
    study = make_study(num_trials=300, parallelism=4)
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 300, running=4, seed=5)
    return study


def age(study, **filters):
    """As if these trials had last changed an hour ago (settled: folded once)."""
    study.trials.filter(**filters).update(updated=timezone.now() - timedelta(hours=1))


def test_the_first_load_sends_the_open_trials_and_the_drawn_curves_only(api, big):
    body = api.get(f"/api/studies/{big.pk}").json()
    numbers = {t["number"] for t in body["trials"]}
    running = set(big.trials.filter(state="running").values_list("number", flat=True))
    assert running <= numbers
    assert len(numbers) <= len(running) + 10
    assert {n for n, _, _ in body["scores"]} <= numbers
    assert body["study"]["counts"] == {"running": 4, "completed": big.trials.filter(state="completed").count(),
                                       "stopped": big.trials.filter(state="stopped").count()}


def test_the_overview_counts_every_trial_per_rung_and_shows_the_top_ones(api, big):
    # completed trials whose final score (the latest report) falls below their best epoch's, by varying amounts
    for t in big.trials.filter(state="completed"):
        t.last_score = t.best_score - (t.number % 7) * 0.05
        t.save(update_fields=["last_score"])
    board = api.get(f"/api/studies/{big.pk}").json()["overview"]["asha"]
    assert sum(b["trials"] for b in board) == 300
    for b in board:
        trials = big.trials.filter(bracket=b["bracket"])
        for column in b["columns"]:
            m = column["milestone"]
            if column["full"]:
                completed = trials.filter(state="completed")
                assert column["reached"] == completed.count()
                # ranked by the final score (the latest report's), as the best config is
                best = sorted(completed, key=lambda t: (-t.last_score, t.number))[:settled.TOP]
                assert [(row[1], row[3]) for row in column["top"]] == [(t.number, t.last_score) for t in best]
                continue
            at = [t for t in trials if str(m) in t.rungs]
            assert column["reached"] == len(at)
            assert column["stopped"] == trials.filter(state="stopped", last_iteration=m).count()
            best = sorted(at, key=lambda t: -t.rungs[str(m)])[:settled.TOP]
            assert [row[1] for row in column["top"]] == [t.number for t in best]


def test_the_overview_buckets_cover_every_finished_trial_with_its_best(api, big):
    buckets = api.get(f"/api/studies/{big.pk}").json()["overview"]["buckets"]
    finished = big.trials.filter(state__in=["completed", "stopped"])
    assert sum(row[1] for row in buckets["rows"]) == finished.count()
    assert max(row[3] for row in buckets["rows"]) == max(t.best_score for t in finished)


def test_a_small_study_has_no_overview_and_sends_every_trial(api, make_study):
    study = make_study(num_trials=20, parallelism=2)
    fill(study, 20, running=2, seed=1)
    body = api.get(f"/api/studies/{study.pk}").json()
    assert body["overview"] is None
    assert len(body["trials"]) == 20


def test_counts_and_the_best_trial_stay_right_as_trials_finish_and_settle(api, big, monkeypatch):
    age(big)
    url = f"/api/studies/{big.pk}"
    api.get(url)   # folds the settled trials
    running = list(big.trials.filter(state="running").order_by("number"))
    # one finishes with the best score of all; it is read live, then settles and is folded in
    big.trials.filter(pk=running[0].pk).update(state="completed", last_iteration=big.plan["max_iterations"],
                                              iterations=big.plan["max_iterations"], best_score=9.0,
                                              last_score=9.0, finished=timezone.now(), updated=timezone.now())
    for settle in (settled.SETTLE, timedelta(0)):
        # first read live; then, time having passed its settling, folded into the kept tally
        monkeypatch.setattr(settled, "SETTLE", settle)
        study = api.get(url).json()["study"]
        assert study["counts"]["running"] == 3
        assert study["counts"]["completed"] == big.trials.filter(state="completed").count()
        assert study["best"]["trial"] == running[0].number == big.best_trial().number
    epochs = sum(big.trials.exclude(state="queued").values_list("last_iteration", flat=True))
    assert api.get(url).json()["study"]["epochs_trained"] == epochs


def test_a_new_server_process_starts_from_the_stored_tally_without_folding_every_trial(api, big, monkeypatch):
    """The fold of the finished trials is kept in the database
    (studies.StudyTally): a new process (its memory empty) answers from it
    and folds only the trials that finished since."""
    age(big)
    url = f"/api/studies/{big.pk}"
    before = api.get(url).json()
    settled._kept.clear()   # a new server process

    def no_full_fold(*args):
        raise AssertionError("a new process folded every finished trial again")

    monkeypatch.setattr(settled, "_fold_all", no_full_fold)
    again = api.get(url).json()
    assert again["study"]["counts"] == before["study"]["counts"]
    assert again["study"]["best"] == before["study"]["best"]
    assert again["overview"] == before["overview"]
    # a trial finishes after the row was written: the new process folds it in as it settles
    running = big.trials.filter(state="running").order_by("number").first()
    big.trials.filter(pk=running.pk).update(state="completed", last_iteration=big.plan["max_iterations"],
                                            iterations=big.plan["max_iterations"], best_score=9.0,
                                            last_score=9.0, finished=timezone.now(), updated=timezone.now())
    monkeypatch.setattr(settled, "SETTLE", timedelta(0))
    settled._kept.clear()
    study = api.get(url).json()["study"]
    assert study["counts"]["completed"] == big.trials.filter(state="completed").count()
    assert study["best"]["trial"] == running.number


def test_a_tally_stored_by_an_older_fold_is_folded_anew(api, big, monkeypatch):
    """A stored tally whose format is not this code's (folded before the
    fold's ranking changed) is not read: the new process folds every finished
    trial once, and stores it in the current format."""
    from studies.models import StudyTally

    age(big)
    url = f"/api/studies/{big.pk}"
    before = api.get(url).json()
    row = StudyTally.objects.get(study_id=big.pk)
    old = {k: v for k, v in row.data.items() if k != "format"}
    # what an older fold kept: its best trial was another (the stored one is what a reader trusts)
    old["best"] = [{**old["best"][0], "number": -1}]
    StudyTally.objects.filter(pk=row.pk).update(data=old)
    settled._kept.clear()   # a new server process
    folds = []
    real = settled._fold_all
    monkeypatch.setattr(settled, "_fold_all", lambda *a: folds.append(1) or real(*a))
    again = api.get(url).json()
    assert folds == [1]
    assert again["study"]["best"] == before["study"]["best"]
    assert StudyTally.objects.get(study_id=big.pk).data["format"] == settled.FORMAT


def test_invalidate_makes_every_process_fold_the_study_anew(api, big):
    """Deleting (or changing) a finished trial is not seen by a kept tally:
    settled.invalidate(study_id) makes every process, and a new one, fold the
    study again."""
    age(big)
    url = f"/api/studies/{big.pk}"
    assert api.get(url).json()["study"]["counts"]["completed"] == big.trials.filter(state="completed").count()
    other_process = dict(settled._kept)   # what another server process holds in memory
    gone = big.trials.filter(state="completed").order_by("number").first()
    gone.delete()
    # without invalidating, the kept tally still counts the deleted trial
    assert api.get(url).json()["study"]["counts"]["completed"] == big.trials.filter(state="completed").count() + 1
    settled.invalidate(big.pk)
    settled._kept.update(other_process)
    completed = big.trials.filter(state="completed").count()
    assert api.get(url).json()["study"]["counts"]["completed"] == completed
    settled._kept.clear()   # a new process
    assert api.get(url).json()["study"]["counts"]["completed"] == completed


def test_the_chart_sample_keeps_every_hand_picked_trial_with_its_star(api, big, monkeypatch):
    """Issue 16: a big study's chart draws a sample of its trials; a
    hand-picked one is always in it, marked, so it keeps its star."""
    monkeypatch.setattr(overview, "SAMPLE", 30)   # every 10th trial of the 300
    finished = big.trials.filter(state__in=["completed", "stopped"], best_score__isnull=False)
    picked = finished.exclude(number__in=range(0, 300, 10)).order_by("number").last()
    picked.hand_picked = True
    picked.save(update_fields=["hand_picked"])
    rows = api.get(f"/api/studies/{big.pk}").json()["overview"]["sample"]
    marked = {row[0]: row[5] for row in rows}
    assert marked.pop(picked.number) is True
    assert set(marked.values()) == {False}
    assert set(marked) == set(finished.filter(number__in=range(0, 300, 10)).values_list("number", flat=True))
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)


def test_the_sample_finds_the_hand_picked_trials_by_their_partial_index(big):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's planner reads a table this small whole, index or not")
    sql, params = big.trials.filter(hand_picked=True).values_list("number").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "trial_study_hand_picked" in plan, plan
