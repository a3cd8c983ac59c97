"""A click racing a report: a pause or kill lands while a trainer reports
from another thread (its own database connection, as a worker's). Whatever
the interleaving, the outcome is one consistent state: a kill always wins
over a later report, a pause keeps exactly what was stored before it, and
two workers never both take one trial."""
import threading

import pytest
from django.db import connections

import hpopt
from hpopt import engine
from runner.jobs import run_trial
from studies import control
from studies.models import Trial
from studies.storage import DbStorage
from tests.conftest import claim, stored_scores

ITERATIONS = 40
LONG = dict(search_alg="bayes_opt", num_trials=2, full_dataset_size=10_000, num_full_iterations=ITERATIONS,
            max_iterations=ITERATIONS, parallelism=1, start=True)


def in_thread(target, *args):
    errors = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


class Reporter:
    """Reports iterations 1..ITERATIONS from a thread and keeps going after
    STOP (a stubborn trainer), noting for each report whether it began after
    the click had returned."""

    def __init__(self, config, click_after: int):
        self.config, self.click_after = config, click_after
        self.clicking = threading.Event()
        self.clicked = threading.Event()
        self.ready = threading.Event()
        self.results = []  # (iteration, status, began_after_click)

    def run(self):
        try:
            for i in range(1, ITERATIONS + 1):
                after = self.clicked.is_set()
                self.results.append((i, hpopt.report(self.config, i / 100, iteration=i), after))
                if i == self.click_after:
                    self.ready.set()
                    # carry on reporting while the click is under way
                    self.clicking.wait(30)
        finally:
            self.ready.set()

    def race(self, click) -> bool:
        thread, errors = in_thread(self.run)
        assert self.ready.wait(30)
        self.clicking.set()
        won = click()
        self.clicked.set()
        thread.join(60)
        assert not thread.is_alive() and not errors, errors
        return won

    def first_stop(self) -> int | None:
        return next((i for i, s, _ in self.results if s is hpopt.Status.STOP), None)


@pytest.mark.parametrize("click_after", [1, 5, 20])
def test_a_kill_always_wins_over_a_later_report(make_study, transactional_db, click_after):
    trial = make_study(**LONG).trials.get(number=0)
    reporter = Reporter(claim(trial), click_after)
    won = reporter.race(lambda: control.kill_trial(trial))

    trial = Trial.objects.get(pk=trial.pk)
    stored = [i for i, _ in stored_scores(trial)]
    if won:
        assert trial.state == "killed"
        assert all(s is hpopt.Status.STOP for _, s, after in reporter.results if after), \
            "every report that began after the kill answered STOP"
        stop = reporter.first_stop()
        assert all(s is hpopt.Status.STOP for i, s, _ in reporter.results if i >= stop)
        assert stored == list(range(1, stop)), "reports after the kill stored nothing"
    else:  # the trainer had finished all its iterations before the click
        assert trial.state == "completed"
        assert stored == list(range(1, ITERATIONS + 1))
    assert trial.last_iteration == len(stored)
    assert trial.finished is not None


@pytest.mark.parametrize("click_after", [1, 5, 20])
def test_a_paused_trial_keeps_exactly_the_scores_stored_before_it_stopped(make_study, transactional_db, click_after):
    trial = make_study(**LONG).trials.get(number=0)
    reporter = Reporter(claim(trial), click_after)
    won = reporter.race(lambda: control.pause_trial(trial))

    trial = Trial.objects.get(pk=trial.pk)
    assert won == (trial.state == "paused")
    stored = [i for i, _ in stored_scores(trial)]
    stop = reporter.first_stop()
    if trial.state == "paused":
        # the report that saw the pending pause was stored and answered STOP
        assert stored == list(range(1, stop + 1))
        assert trial.resume_iteration == trial.last_iteration == stop
        assert trial.pending == ""
        assert all(s is hpopt.Status.STOP for i, s, _ in reporter.results if i >= stop)
    else:  # the pause landed after the last report: nothing left to pause
        assert trial.state == "completed"
        assert stored == list(range(1, ITERATIONS + 1))


def test_a_kill_racing_the_trainers_return_ends_in_exactly_one_state(make_study, transactional_db):
    study = make_study(**{**LONG, "num_trials": 6, "parallelism": 6})
    storage = DbStorage(study.pk)
    outcomes = []
    for trial in study.trials.order_by("number"):
        config = claim(trial)
        hpopt.report(config, 0.5)
        barrier = threading.Barrier(2)
        result = {}

        def finish(number=config["trial_id"], barrier=barrier, result=result):
            barrier.wait()
            result["finish"] = engine.finish(storage, number)

        def kill(trial=trial, barrier=barrier, result=result):
            barrier.wait()
            result["kill"] = control.kill_trial(trial, fill=False)

        threads = [in_thread(finish), in_thread(kill)]
        for thread, errors in threads:
            thread.join(60)
            assert not errors, errors
        state = Trial.objects.get(pk=trial.pk).state
        if result["kill"]:
            assert state == "killed" and result["finish"] is hpopt.TrialState.KILLED
        else:
            assert state == "completed" and result["finish"] is hpopt.TrialState.COMPLETED
        outcomes.append(state)
    assert set(outcomes) <= {"killed", "completed"}


def test_two_workers_never_both_run_one_trial(make_study, transactional_db):
    study = make_study(search_alg="bayes_opt", num_trials=3, max_iterations=8, parallelism=1, start=True)
    trial = study.trials.get(number=0)
    barrier = threading.Barrier(2)
    outcomes = []

    def worker():
        barrier.wait()
        outcomes.append(run_trial(trial.pk, trial.job_id))

    threads = [in_thread(worker) for _ in range(2)]
    for thread, errors in threads:
        thread.join(60)
        assert not errors, errors
    assert sorted(o.split(" ")[0] for o in outcomes) == ["completed", "skipped"]
    trial.refresh_from_db()
    assert (trial.state, trial.attempt) == ("completed", 1)
    assert [i for i, _ in stored_scores(trial)] == list(range(1, 9))
