"""resume=True: after a SIGKILL mid-study, after a clean stop, and what it refuses."""
import json
import signal
import subprocess
import sys
import time
import warnings

import pytest
from conftest import REPO_ROOT, best_by_scores, create, loss, python_env, run_loop, small_space, stored, train

import hpopt
from hpopt.algorithms import gp_sampler
from hpopt.storage.file import FileStorage

SCRIPT = """
import json, sys, time
sys.path.insert(0, {tests!r})
from conftest import create, loss
import hpopt

save_path, marker, alg = sys.argv[1:]
hpo = create(save_path, search_alg=alg, **json.loads({args!r}))
while (config := hpo.get_next_sample()) is not None:
    for epoch in range(1, config["iterations"] + 1):
        status = hpopt.report(config=config, score=loss(config["params"], epoch))
        if status == hpopt.Status.STOP:
            break
        if config["trial_id"] >= 2:
            # mid-trial: tell the test which trial, then wait for SIGKILL
            with open(marker + ".tmp", "w") as f:
                json.dump(config["trial_id"], f)
            import os; os.replace(marker + ".tmp", marker)
            time.sleep(600)
"""
ARGS = dict(mode="min", num_trials=6, max_iterations=4, num_init_trial=2, seed=0)


def run_until_marker(tmp_path, save_path, alg):
    script, marker = tmp_path / "study.py", tmp_path / "marker.json"
    script.write_text(SCRIPT.format(tests=str(REPO_ROOT / "tests" / "core"), args=json.dumps(ARGS)))
    proc = subprocess.Popen([sys.executable, str(script), str(save_path), str(marker), alg],
                            env=python_env(), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, f"the study script ended early: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "the study script never reached its marker"
            time.sleep(0.05)
        return json.loads(marker.read_text())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()  # reaped: its pid no longer answers
        proc.stderr.close()


@pytest.mark.parametrize("alg", ["baye_opt", "asha"])
def test_a_study_killed_mid_trial_resumes_keeping_every_stored_score(alg, tmp_path, save_path):
    interrupted = run_until_marker(tmp_path, save_path, alg)
    trials_before, scores_before = stored(save_path)
    assert trials_before[interrupted].state.value == "running"

    hpo = create(save_path, search_alg=alg, resume=True, **ARGS)

    trials, scores = stored(save_path)
    assert scores == scores_before
    assert [t.state.value for t in trials] == [
        "queued" if t.trial_id == interrupted else t.state.value for t in trials_before]

    configs = run_loop(hpo, lambda c: train(c, loss))

    assert configs[0]["trial_id"] == interrupted and configs[0]["attempt"] == 2
    assert configs[0]["params"] == trials_before[interrupted].params
    new_ids = [c["trial_id"] for c in configs[1:]]
    assert new_ids == list(range(len(trials_before), ARGS["num_trials"]))
    trials, scores = stored(save_path)
    assert [t.trial_id for t in trials] == list(range(ARGS["num_trials"]))
    assert all(t.state.is_finished() for t in trials)
    for t in trials_before:
        if t.trial_id != interrupted:
            assert trials[t.trial_id] == t and scores[t.trial_id] == scores_before[t.trial_id]
    # mode 'min' survived: the best config is the lowest loss
    assert hpo.get_best_config() == trials[best_by_scores(scores, "min")].params
    assert trials[interrupted].best_score == min(v for _, v in scores[interrupted])
    assert hpo.get_progress() == 1.0


@pytest.mark.parametrize("alg", ["baye_opt", "asha"])
def test_a_stopped_loop_resumes_where_it_left_off(alg, save_path):
    first = create(save_path, search_alg=alg, **ARGS)
    for _ in range(3):
        train(first.get_next_sample(), loss)
    before = stored(save_path)

    configs = run_loop(create(save_path, search_alg=alg, resume=True, **ARGS), lambda c: train(c, loss))

    trials, scores = stored(save_path)
    assert [c["trial_id"] for c in configs] == [3, 4, 5]
    assert trials[:3] == before[0]
    assert {tid: scores[tid] for tid in before[1]} == before[1]


def test_resume_while_the_owner_still_runs_does_not_take_its_trial(save_path):
    a = create(save_path, search_alg="asha", **ARGS)
    held = a.get_next_sample()

    b = create(save_path, search_alg="asha", resume=True, **ARGS)

    assert stored(save_path)[0][held["trial_id"]].state.value == "running"
    assert b.get_next_sample()["trial_id"] == held["trial_id"] + 1
    assert hpopt.report(config=held, score=0.5) == hpopt.Status.RUNNING


def test_resume_on_an_empty_save_path_starts_a_study(save_path):
    hpo = create(save_path, search_alg="asha", resume=True, **ARGS)

    assert len(run_loop(hpo)) == ARGS["num_trials"]


@pytest.mark.parametrize("change, match", [
    (dict(search_alg="asha"), "search_alg"),
    (dict(mode="max"), "mode"),
])
def test_resume_refuses_another_algorithm_or_mode(change, match, save_path):
    run_loop(create(save_path, search_alg="baye_opt", **ARGS), lambda c: train(c, loss))
    before = stored(save_path)

    with pytest.raises(hpopt.HpoError, match=match):
        create(save_path, resume=True, **{**ARGS, "search_alg": "baye_opt", **change})

    assert stored(save_path) == before


@pytest.mark.parametrize("stored_as", ["tpe", None], ids=["tpe", "no sampler stored"])
def test_a_study_stored_with_the_tpe_resumes_with_the_tpe(stored_as, save_path, monkeypatch):
    """The GP is ASHA's default sampler now; a study stored with the TPE, or
    stored before the option existed (its settings hold no sampler), goes on
    with the TPE it ran with, in any process that resumes it."""
    first = create(save_path, search_alg="asha", sampler="tpe", **ARGS)
    for _ in range(3):
        train(first.get_next_sample(), loss)
    if stored_as is None:
        storage = FileStorage(str(save_path))
        with storage.locked() as raw:
            storage.save_meta({**raw, "settings": {k: v for k, v in raw["settings"].items() if k != "sampler"}})

    def no_gp(*args):
        raise AssertionError("the GP suggested for a TPE study")

    monkeypatch.setattr(gp_sampler, "suggest", no_gp)
    hpo = create(save_path, search_alg="asha", resume=True, **ARGS)

    assert hpo.settings.sampler == "tpe"
    assert [c["trial_id"] for c in run_loop(hpo, lambda c: train(c, loss))] == [3, 4, 5]


def _resume_warnings(save_path, **kwargs) -> list[str]:
    """The resume warnings of hpopt.create(resume=True, ...) with conftest.create's arguments."""
    args = dict(search_space=small_space(), full_dataset_size=1000, num_full_iterations=6,
                save_path=str(save_path), hard_budget=False, resume=True, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hpopt.create(**args)
    return [str(w.message) for w in caught if "resuming" in str(w.message)]


def test_resume_warns_of_the_values_the_user_changed_not_of_defaults_never_passed(save_path):
    """A study saved with the TPE as ASHA's sampler (the default before the
    GP), resumed by a script that passes the same arguments as before minus
    the sampler: no warning (the user asked for nothing new, and the study
    goes on with its TPE); a changed num_trials is named."""
    create(save_path, search_alg="asha", sampler="tpe", **ARGS)

    assert _resume_warnings(save_path, search_alg="asha", **ARGS) == []
    changed = _resume_warnings(save_path, search_alg="asha", **{**ARGS, "num_trials": 9})
    assert len(changed) == 1 and changed[0].endswith("these new values are ignored: num_trials")
    # under the guide's other spelling of an argument too
    aliased = _resume_warnings(save_path, search_alg="asha", num_init_trials=3,
                               **{k: v for k, v in ARGS.items() if k != "num_init_trial"})
    assert len(aliased) == 1 and aliased[0].endswith("these new values are ignored: num_init_trial")
