"""Short trials (ASHA's backfill at the budget's end: handed fewer epochs
than the full length) are shown as what they are (issue 16): the rung
board's full-length column counts and ranks only trials that trained the
full length, the short ones are a group of their own, and the list and the
study page say how many trials there are against the plan in the same
words ("307 trials (300 planned + 7 backfill)")."""
from datetime import timedelta

import pytest
from django.utils import timezone

from benchmarks.poll_speed import fill
from studies import overview
from studies.api import cursor
from studies.models import Trial

pytestmark = pytest.mark.django_db

BACKFILL = 7


def add_backfill(study, count: int, epochs: int = 1) -> list[int]:
    """``count`` completed backfill trials after the study's last, each with
    a score better than any full-length trial's (so a board that mixed them
    in would rank them first)."""
    first = study.trials.count()
    now = timezone.now()
    Trial.objects.bulk_create([
        Trial(study=study, number=n, params={"x": 0.0, "bs": 8, "opt": "sgd"}, iterations=epochs, subset_ratio=1.0,
              state="completed", bracket=n % len(study.plan["brackets"]), last_iteration=epochs, best_score=5.0 + n,
              last_score=5.0 + n, rungs={}, spent=float(epochs), started=now - timedelta(seconds=5), finished=now,
              attempt=1)
        for n in range(first, first + count)])
    return list(range(first, first + count))


@pytest.fixture
def big(make_study, monkeypatch):
    """300 planned trials ended, then 7 backfill trials of 1 epoch; treated as big."""
    monkeypatch.setattr(overview, "BIG", 100)
    monkeypatch.setattr(cursor, "FIRST_LOAD_TRIALS", 100)
    study = make_study(num_trials=300, parallelism=4)
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 300, running=0, seed=5)
    study.backfill = add_backfill(study, BACKFILL)
    return study


def test_the_full_length_column_counts_and_ranks_only_full_length_trials(api, big):
    board = api.get(f"/api/studies/{big.pk}").json()["overview"]["asha"]
    full_length = big.trials.filter(state="completed", iterations=big.plan["max_iterations"])
    for b in board:
        full = b["columns"][-1]
        assert full["full"]
        assert full["reached"] == full_length.filter(bracket=b["bracket"]).count()
        assert not {row[1] for row in full["top"]} & set(big.backfill), "a 1-epoch trial ranked as full length"
    assert sum(b["short"]["completed"] for b in board) == BACKFILL
    assert sorted(row[1] for b in board for row in b["short"]["top"]) == big.backfill
    assert {e for b in board for e in b["short"]["epochs"]} == {1}


def test_the_dots_say_how_long_each_trial_trained(api, big):
    sample = api.get(f"/api/studies/{big.pk}").json()["overview"]["sample"]
    lengths = {row[0]: row[4] for row in sample}
    assert {lengths[n] for n in big.backfill if n in lengths} <= {1}
    assert big.plan["max_iterations"] in lengths.values()


def test_the_list_and_the_study_say_the_same_count_in_words(api, big):
    expected = {"created": 307, "planned": 300, "short": BACKFILL, "note": "300 planned + 7 backfill",
                "text": "307 trials (300 planned + 7 backfill)"}
    assert api.get(f"/api/studies/{big.pk}").json()["study"]["trial_count"] == expected
    listed = {s["id"]: s for s in api.get("/api/studies").json()["studies"]}
    assert listed[big.pk]["trial_count"] == expected


def test_a_study_within_its_plan_counts_trials_of_the_planned(api, make_study):
    study = make_study(num_trials=20, parallelism=2)
    fill(study, 12, running=2, seed=1)
    count = api.get(f"/api/studies/{study.pk}").json()["study"]["trial_count"]
    assert (count["note"], count["text"]) == ("of 20 planned", "12 of 20 planned trials")
