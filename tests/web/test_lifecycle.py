"""Archive, unarchive and delete a study; exclude a trial from the model's
view and include it again (studies.lifecycle, POST /api/studies/<id>/archive|
unarchive|delete, POST /api/trials/<id>/exclude|include)."""
from __future__ import annotations

import pytest
from django.db.models import F

import hpopt
from hpopt.algorithms.tpe import ParzenSampler
from studies import control, settled
from studies.models import Attempt, Score, Study, StudyTally, Trial
from studies.storage import DbStorage
from tests.conftest import claim, token_client

pytestmark = pytest.mark.django_db


def _finish(study, scores: dict, state: str = "completed") -> None:
    """Ends the study's trials with these final scores ({number: score}), as
    if they had trained to the full length."""
    for number, score in scores.items():
        Trial.objects.filter(study=study, number=number).update(
            state=state, best_score=score, last_score=score, iterations=study.plan["max_iterations"],
            last_iteration=study.plan["max_iterations"], spent=1.0, job_id="")


def _ended(make_study, **fields):
    """A killed study whose two trials completed, trial 1 the best (0.9 against 0.5)."""
    study = make_study(start=True, **fields)
    control.kill(study)
    _finish(study, {0: 0.5, 1: 0.9})
    study.refresh_from_db()
    return study


# -- archive ---------------------------------------------------------------------------------
def test_archived_studies_leave_the_default_list_and_come_back(api, make_study):
    kept, shelved = make_study(name="kept"), make_study(name="shelved")
    r = api.post(f"/api/studies/{shelved.pk}/archive")
    assert r.status_code == 200 and r.json()["archived"] is True
    assert [s["name"] for s in api.get("/api/studies").json()["studies"]] == ["kept"]
    assert [s["name"] for s in api.get("/api/studies", archived="1").json()["studies"]] == ["shelved"]
    assert {s["name"] for s in api.get("/api/studies", archived="all").json()["studies"]} == {"kept", "shelved"}
    assert api.post(f"/api/studies/{shelved.pk}/unarchive").json()["archived"] is False
    assert {s["name"] for s in api.get("/api/studies").json()["studies"]} == {"kept", "shelved"}
    assert kept.pk


@pytest.mark.parametrize("action", ["archive", "delete"])
def test_a_running_study_is_refused_naming_its_state(api, make_study, action):
    study = make_study(start=True)
    r = api.post(f"/api/studies/{study.pk}/{action}")
    assert r.status_code == 409
    assert r.json()["errors"]["__all__"].startswith(f"cannot {action} a study that is running: pause it")
    study.refresh_from_db()
    assert study.archived is False and study.trials.count() == 2


@pytest.mark.parametrize("action", ["archive", "delete"])
def test_a_paused_study_whose_trials_still_run_is_refused(api, make_study, action):
    """A pause waits for a running trial's next report: until then a worker holds it."""
    study = make_study(start=True)
    claim(study.trials.get(number=0))     # a worker runs trial 0
    control.pause(study)
    assert set(study.trials.values_list("state", flat=True)) == {"running", "paused"}
    r = api.post(f"/api/studies/{study.pk}/{action}")
    assert r.status_code == 409
    assert r.json()["errors"]["__all__"] == (
        f"cannot {action} a study that is paused while workers hold its trials (1 running): "
        "wait until they pause, or kill the study first")
    assert Study.objects.filter(pk=study.pk, archived=False).exists()


def test_an_archived_study_cannot_be_resumed_until_unarchived(api, make_study):
    study = make_study(start=True)
    control.pause(study)
    assert api.post(f"/api/studies/{study.pk}/archive").status_code == 200
    r = api.post(f"/api/studies/{study.pk}/resume")
    assert r.status_code == 409
    assert r.json()["errors"]["__all__"] == "cannot resume an archived study: unarchive it first"
    assert api.post(f"/api/studies/{study.pk}/budget", {"add_trials": 2}).status_code == 409
    api.post(f"/api/studies/{study.pk}/unarchive")
    assert api.post(f"/api/studies/{study.pk}/resume").json()["state"] == "running"


# -- delete ------------------------------------------------------------------------------------
def test_deleting_removes_the_study_its_trials_scores_and_attempts(api, make_study, tmp_path, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.HPOPT_CHECKPOINT_DIR = str(tmp_path)
    study = make_study(start=True)
    config = claim(study.trials.get(number=0))
    hpopt.report(config, 0.5)
    Attempt.objects.create(trial=study.trials.get(number=0), number=1, worker="w1", log="epoch 1")
    control.kill(study)
    folder = tmp_path / f"study-{study.pk}" / "trial-0"
    folder.mkdir(parents=True)
    assert Score.objects.filter(study=study).exists() and Attempt.objects.filter(trial__study=study).exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/studies/{study.pk}/delete")
    assert r.status_code == 200 and r.json() == {"deleted": study.pk}
    assert not Study.objects.filter(pk=study.pk).exists()
    assert not Trial.objects.filter(study_id=study.pk).exists()
    assert not Score.objects.filter(study_id=study.pk).exists()
    assert not Attempt.objects.filter(trial__study_id=study.pk).exists()
    assert api.get(f"/api/studies/{study.pk}").status_code == 404
    assert not (tmp_path / f"study-{study.pk}").exists()      # its checkpoints went with it


def test_a_draft_and_a_paused_study_can_be_deleted(api, make_study):
    draft, paused = make_study(), make_study(start=True)
    control.pause(paused)
    for study in (draft, paused):
        assert api.post(f"/api/studies/{study.pk}/delete").status_code == 200
    assert not Study.objects.exists()


@pytest.mark.parametrize("action", ["archive", "unarchive", "delete", "notes"])
def test_another_users_study_is_a_404_and_staff_may(make_study, bob, staff, action):
    study = make_study()
    body = {"notes": "x"} if action == "notes" else None
    assert token_client(bob).post(f"/api/studies/{study.pk}/{action}", body).status_code == 404
    assert Study.objects.filter(pk=study.pk, archived=False, notes="").exists()
    assert token_client(staff).post(f"/api/studies/{study.pk}/{action}", body).status_code == 200


def test_the_lifecycle_routes_take_only_post(api, make_study):
    study = make_study()
    assert api.get(f"/api/studies/{study.pk}/delete").status_code == 405
    assert Study.objects.filter(pk=study.pk).exists()


# -- exclude a trial ------------------------------------------------------------------------------
def test_an_excluded_trial_leaves_the_best_config_and_comes_back(api, make_study):
    study = _ended(make_study)
    best = study.trials.get(number=1)
    assert api.get(f"/api/studies/{study.pk}").json()["study"]["best"]["trial"] == 1
    r = api.post(f"/api/trials/{best.pk}/exclude")
    assert r.status_code == 200 and r.json()["excluded"] is True
    assert api.get(f"/api/studies/{study.pk}").json()["study"]["best"]["trial"] == 0
    assert api.get(f"/api/studies/{study.pk}/best-config").json()["trial"] == 0
    row = api.get("/api/studies").json()["studies"][0]
    assert (row["best"]["trial"], row["best"]["score"], row["best"]["final_score"]) == (0, 0.5, 0.5)
    table = api.get(f"/api/studies/{study.pk}/trials", sort="number").json()["trials"]
    assert [t["excluded"] for t in table] == [False, True]
    assert api.post(f"/api/trials/{best.pk}/include").json()["excluded"] is False
    assert api.get(f"/api/studies/{study.pk}").json()["study"]["best"]["trial"] == 1
    assert api.get("/api/studies").json()["studies"][0]["best"]["trial"] == 1


def test_only_a_finished_trial_can_be_excluded(api, make_study):
    study = make_study(start=True)
    trial = study.trials.get(number=0)
    r = api.post(f"/api/trials/{trial.pk}/exclude")
    assert r.status_code == 409
    assert r.json()["errors"]["__all__"] == (
        "cannot exclude a trial that is queued: kill it first (only finished trials can be excluded)")
    assert not Trial.objects.get(pk=trial.pk).excluded


def test_another_users_trial_cannot_be_excluded(make_study, bob):
    study = _ended(make_study)
    trial = study.trials.get(number=1)
    assert token_client(bob).post(f"/api/trials/{trial.pk}/exclude").status_code == 404
    assert not Trial.objects.get(pk=trial.pk).excluded


def test_the_algorithms_see_an_excluded_trial_as_one_that_reported_nothing(make_study):
    study = _ended(make_study, search_alg="baye_opt")
    Trial.objects.filter(study=study, number=1).update(rungs={"2": 0.8})
    Score.objects.create(study=study, trial=study.trials.get(number=1), iteration=1, value=0.9)
    from studies import lifecycle

    lifecycle.set_excluded(study.trials.get(number=1), True)
    storage = DbStorage(study.pk)
    seen = {t.trial_id: t for t in storage.trials()}
    assert (seen[1].best_score, seen[1].last_score, seen[1].rungs) == (None, None, {})
    assert seen[1].spent == 1.0                      # the compute it spent still counts
    assert len(seen) == 2                            # and its number stays taken
    assert ParzenSampler.observation(seen[1]) is None and ParzenSampler.observation(seen[0]) is not None
    assert 1 not in storage.all_scores()             # median stopping reads no curve of it
    assert storage.rung_scores(study.trials.get(number=1).bracket, 2) == []


def test_an_asha_rung_ranks_without_an_excluded_trial(make_study):
    """Trial 0 reached the first rung with a high score and was killed; trial 1
    reaches it lower: it stops while trial 0 counts, and goes on once trial 0
    is excluded."""
    from studies import lifecycle

    def rung_decision(excluded: bool) -> hpopt.Status:
        study = make_study(start=True, num_brackets=1)
        milestone = study.plan["brackets"][0][0]
        first = study.trials.get(number=0)
        config = claim(first)
        for i in range(1, milestone + 1):
            hpopt.report(config, 0.9, iteration=i)
        control.kill_trial(first)
        if excluded:
            lifecycle.set_excluded(first, True)
        config = claim(study.trials.get(number=1))
        return [hpopt.report(config, 0.1, iteration=i) for i in range(1, milestone + 1)][-1]

    assert rung_decision(excluded=False) == hpopt.Status.STOP
    assert rung_decision(excluded=True) != hpopt.Status.STOP


def test_excluding_a_settled_trial_rebuilds_every_kept_tally(make_study, monkeypatch):
    """studies.settled keeps the finished trials' tally per process and
    assumes they never change: an exclusion must reach it, also in a
    process that did not make it (it reads the tally row's generation)."""
    study = _ended(make_study)
    # the trials settled long ago: they sit in the kept tally, not among the recent ones
    Trial.objects.filter(study=study).update(updated=study.created - settled.REFRESH)
    tally, _ = settled.live(study)
    assert tally.best[0].number == 1
    before = {k: list(v) for k, v in tally.groups.items()}
    # another process excludes it (the update below is what it writes; nothing
    # in this process is told): only the trial's row and the tally row's generation move
    Trial.objects.filter(study=study, number=1).update(excluded=True, updated=study.created - settled.REFRESH)
    stale, _ = settled.live(Study.objects.get(pk=study.pk))
    assert stale.best[0].number == 1                 # without the generation the tally cannot know
    StudyTally.objects.filter(study=study).update(generation=F("generation") + 1, data=None)   # settled.invalidate
    fresh, _ = settled.live(Study.objects.get(pk=study.pk))
    assert fresh.best[0].number == 0
    assert fresh.groups == before                    # counted once, compute and all


def test_exclusion_through_the_api_is_seen_by_the_next_poll_without_double_counting(api, make_study):
    study = _ended(make_study)
    Trial.objects.filter(study=study).update(updated=study.created - settled.REFRESH)
    counts = api.get(f"/api/studies/{study.pk}").json()["study"]["counts"]
    api.post(f"/api/trials/{study.trials.get(number=1).pk}/exclude")
    body = api.get(f"/api/studies/{study.pk}").json()["study"]
    assert body["best"]["trial"] == 0
    assert body["counts"] == counts == {"completed": 2}
