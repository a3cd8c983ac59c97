"""POST /api/studies/<id>/enqueue: a config given by hand becomes a queued,
hand-picked trial of a running or paused study; the config is checked
against the search space (every parameter present, known and valid) and a
bad one saves nothing; run, it trains the exact config at the study's
fidelity and its score reaches the algorithm's model."""
import csv
import io

import pytest

from hpopt import algorithms, snapshot
from hpopt.algorithms.tpe import ParzenSampler
from studies import control
from studies.models import Study, Trial
from studies.storage import DbStorage
from tests.conftest import stored_scores, token_client
from tests.trainers import curve

pytestmark = pytest.mark.django_db

GOOD = {"x": 0.0, "bs": 64, "opt": "adam"}


@pytest.fixture(autouse=True)
def _trainers(trainers):
    return trainers


def url(study):
    return f"/api/studies/{study.pk}/enqueue"


def test_it_queues_a_hand_picked_trial_at_the_fidelity_of_a_new_trial(api, make_study):
    study = make_study(start=True, parallelism=2, num_trials=10)
    r = api.post(url(study), {"params": {"x": 0.5, "bs": 64.0, "opt": "adam"}})
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["number"], body["state"], body["hand_picked"]) == (2, "queued", True)
    assert body["params"] == {"x": 0.5, "bs": 64, "opt": "adam"}, "values as the space gives them (64, not 64.0)"
    trial = Trial.objects.get(pk=body["id"])
    sampled = study.trials.get(number=0)
    assert (trial.iterations, trial.subset_ratio) == (sampled.iterations, sampled.subset_ratio)
    assert trial.bracket == 2 % study.plan["num_brackets"]
    assert not sampled.hand_picked


def test_a_free_slot_takes_it_at_once(api, make_study):
    study = make_study(start=True, parallelism=2, num_trials=10)
    Study.objects.filter(pk=study.pk).update(parallelism=3)
    trial = Trial.objects.get(pk=api.post(url(study), {"params": GOOD}).json()["id"])
    assert trial.job_id, "the free third slot got a job for it"


def test_with_every_slot_busy_the_next_free_slot_takes_it_before_sampling(api, make_study):
    study = make_study(start=True, parallelism=2, num_trials=10)
    trial = Trial.objects.get(pk=api.post(url(study), {"params": GOOD}).json()["id"])
    assert trial.job_id == ""
    control.kill_trial(study.trials.get(number=0))
    trial.refresh_from_db()
    assert trial.job_id, "the freed slot ran the hand-picked trial"
    assert study.trials.count() == 3, "no new trial was sampled"


def test_a_paused_study_takes_one_and_runs_it_once_resumed(api, make_study):
    study = make_study(start=True, parallelism=2, num_trials=10)
    control.pause(study)
    r = api.post(url(study), {"params": GOOD})
    assert r.status_code == 201
    trial = Trial.objects.get(pk=r.json()["id"])
    assert (trial.state, trial.job_id) == ("queued", "")
    control.resume(study)
    trial.refresh_from_db()
    assert trial.job_id == "", "the two resumed trials hold the two slots"
    control.kill_trial(study.trials.get(number=0))
    trial.refresh_from_db()
    assert trial.job_id


def rejected(api, study, body, status=400) -> dict:
    before = list(Trial.objects.filter(study=study).values())
    r = api.post(url(study), body)
    assert r.status_code == status, r.content
    assert list(Trial.objects.filter(study=study).values()) == before, "nothing is saved"
    return r.json()["errors"]


def test_each_parameter_at_fault_is_named_with_its_rule(api, make_study):
    study = make_study(start=True)
    errors = rejected(api, study, {"params": {"x": 3, "bs": 100, "opt": "rmsprop", "depth": 4}})
    assert errors == {
        "params.x": "parameter 'x': 3 is outside the range [-2.0, 2.0]",
        "params.bs": "parameter 'bs': 100 is not on the grid 8 + k*8 (nearest: 96 or 104)",
        "params.opt": "parameter 'opt': 'rmsprop' is not one of the choices ['sgd', 'adam']",
        "params.depth": "parameter 'depth': not in the search space (its parameters: x, bs, opt)",
    }


def test_a_missing_parameter_and_a_value_of_the_wrong_kind_are_named(api, make_study):
    study = make_study(start=True)
    errors = rejected(api, study, {"params": {"x": "0.5", "opt": True}})
    assert errors == {
        "params.x": "parameter 'x': must be a finite number (got '0.5')",
        "params.bs": "parameter 'bs': missing (a config gives every parameter of the space)",
        "params.opt": "parameter 'opt': True is not one of the choices ['sgd', 'adam']",
    }


@pytest.mark.parametrize("body, key", [({}, "params"), ({"config": GOOD}, "params"), ({"params": [1]}, "params"),
                                       ([GOOD], "params")])
def test_a_body_without_a_params_object_is_400(api, make_study, body, key):
    study = make_study(start=True)
    assert key in rejected(api, study, body)


@pytest.mark.parametrize("state", ["draft", "killed", "completed"])
def test_a_study_that_is_not_running_or_paused_refuses_with_409_naming_its_state(api, make_study, state):
    study = make_study(start=state != "draft")
    if state == "killed":
        control.kill(study)
    if state == "completed":
        Study.objects.filter(pk=study.pk).update(state="completed")
    errors = rejected(api, study, {"params": GOOD}, status=409)
    assert errors["__all__"] == (f"cannot enqueue a config into a study that is {state}: "
                                 "only a running or paused study takes one")


def test_a_plan_with_no_room_left_refuses_with_409(api, make_study):
    study = make_study(start=True, search_alg="bayes_opt", num_trials=2, parallelism=2, num_init_trial=1,
                       hard_budget=False)
    errors = rejected(api, study, {"params": GOOD}, status=409)
    assert errors["__all__"].startswith("the study has no room for another trial now")
    assert Study.objects.get(pk=study.pk).budget_refused is False, "the refusal left no flag behind"


def test_only_the_owner_or_staff_enqueue(bob, staff, make_study):
    study = make_study(start=True, num_trials=10)
    assert token_client(bob).post(url(study), {"params": GOOD}).status_code == 404
    assert study.trials.count() == 2
    r = token_client(staff).post(url(study), {"params": GOOD})
    assert r.status_code == 201 and r.json()["hand_picked"] is True


def test_the_trial_json_and_csv_say_hand_picked(api, make_study):
    study = make_study(start=True, num_trials=10)
    number = api.post(url(study), {"params": GOOD}).json()["number"]
    rows = {t["number"]: t["hand_picked"] for t in api.get(f"/api/studies/{study.pk}/trials").json()["trials"]}
    assert rows == {0: False, 1: False, number: True}
    detail = api.get(f"/api/studies/{study.pk}").json()["trials"]
    assert [t["number"] for t in detail if t["hand_picked"]] == [number]
    table = list(csv.DictReader(io.StringIO(api.get(f"/api/studies/{study.pk}/trials.csv").content.decode())))
    assert [(row["trial"], row["hand_picked"]) for row in table] == [("0", "False"), ("1", "False"),
                                                                      (str(number), "True")]


@pytest.mark.parametrize("alg", ["asha", "bayes_opt"])
def test_a_hand_picked_config_runs_as_given_and_its_score_reaches_the_model(api, make_study, run_burst, alg):
    """Run by a real RQ worker (in this process): the trainer receives the
    exact params, reports the curve of that config, and the algorithm's own
    model of the study (TPE's ranking for ASHA, the GP's observations for
    bayes_opt) holds its score; the trials sampled after it are the model's."""
    # a budget that lets the best trial train to full length
    extra = {"num_brackets": 1, "expected_time_ratio": 6} if alg == "asha" else {"num_init_trial": 2}
    study = make_study(start=True, search_alg=alg, parallelism=1, num_trials=6, seed=3, **extra)
    number = api.post(url(study), {"params": GOOD}).json()["number"]
    assert number == 1
    run_burst()
    study.refresh_from_db()
    assert study.state == "completed"
    picked = study.trials.get(number=number)
    assert picked.hand_picked and picked.params == GOOD
    assert (picked.state, picked.stop_reason) == ("completed", "") and picked.iterations == study.plan["max_iterations"]
    assert stored_scores(picked) == [(e, pytest.approx(curve(GOOD, e))) for e in range(1, picked.iterations + 1)]
    assert picked.attempts.get().host, "a worker ran it"
    assert study.trials.count() == 6, "it took the place of a sampled trial"
    assert study.best_trial() == picked, "x = 0 with adam is the curve's best config"

    storage = DbStorage(study.pk)
    with storage.locked() as raw:
        meta = snapshot.Meta.from_dict(raw)
        trials = list(snapshot.load(storage, meta).trials)
    algorithm = algorithms.build(meta)
    if alg == "asha":
        ranked = ParzenSampler(algorithm.space, algorithm.sign).ranked(trials)
        assert ranked[0].trial_id == number, "TPE ranks the hand-picked trial first: its best-scored"
    else:
        xs, ys, _ = algorithm._encoded([t for t in trials if t.best_score is not None])
        row = [tuple(x) for x in xs].index(tuple(algorithm.space.encode(GOOD)))
        assert ys[row] == pytest.approx(picked.best_score) == ys.max()


def test_the_trial_page_says_hand_picked(client, alice, api, make_study):
    study = make_study(start=True, num_trials=10)
    picked = api.post(url(study), {"params": GOOD}).json()
    client.force_login(alice)
    assert b'id="trial-hand-picked"' in client.get(f"/trials/{picked['id']}/").content
    sampled = study.trials.get(number=0)
    assert b'id="trial-hand-picked"' not in client.get(f"/trials/{sampled.pk}/").content
