"""The study engine: every decision of a study, on any storage.

Each function takes a :class:`~hpopt.storage.base.Storage`, holds its lock for
the whole read-decide-write, and rebuilds settings, search space, plan and
algorithm from what is stored.  The standalone library (``hpopt.study``) and
the dashboard's workers call these same functions, so a trainer behaves the
same in a script and in a worker.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import time

from hpopt import algorithms
from hpopt.errors import HpoError
from hpopt.plan import Plan, plan as make_plan
from hpopt.settings import Settings
from hpopt.space import SearchSpace, SpaceExhausted
from hpopt.status import BEST_CANDIDATE_STATES, Decision, Status, TrialState
from hpopt.storage.base import Storage, TrialRecord

META_VERSION = 1
#: without batch_size_name an OOM re-runs the same config at most this often
MAX_OOM_RETRIES = 3


@dataclasses.dataclass
class Loaded:
    meta: dict
    settings: Settings
    space: SearchSpace
    plan: Plan
    algorithm: algorithms.Algorithm


def new_meta(settings: Settings) -> dict:
    plan = make_plan(**settings.plan_kwargs())
    return {
        "version": META_VERSION,
        "settings": settings.to_dict(),
        "initial_space": settings.search_space,
        "space": settings.search_space,
        "plan": plan.to_dict(),
        "error": "",
        "created": time.time(),
    }


def plan_from_dict(d: dict) -> Plan:
    names = {f.name for f in dataclasses.fields(Plan)}
    kw = {k: v for k, v in d.items() if k in names}
    kw["brackets"] = tuple(tuple(b) for b in kw.get("brackets", ()))
    kw["auto"] = tuple(kw.get("auto", ()))
    kw["warnings"] = tuple(kw.get("warnings", ()))
    return Plan(**kw)


def load(storage: Storage) -> Loaded:
    meta = storage.load_meta()
    if meta is None:
        raise HpoError("no study is stored here; create one with hpopt.create()")
    settings = Settings(**meta["settings"])
    space = SearchSpace.from_spec(meta["space"])
    plan = plan_from_dict(meta["plan"])
    return Loaded(meta, settings, space, plan, algorithms.build(settings, space, plan))


def train_config(storage: Storage, ld: Loaded, trial: TrialRecord) -> dict:
    """The dict a trainer receives. The guide's sample reads params,
    iterations and subset_ratio; ``storage`` lets report() find the study."""
    config = {
        "trial_id": trial.trial_id,
        "params": dict(trial.params),
        "iterations": trial.iterations,
        "subset_ratio": trial.subset_ratio,
        "mode": ld.settings.mode,
        "attempt": trial.attempt,
        "resume_iteration": trial.resume_iteration,
        "checkpoint_dir": storage.checkpoint_dir(trial.trial_id),
        "batch_size_name": ld.settings.batch_size_name,
        "file_path": ld.settings.save_path,
        "storage": storage.spec,
    }
    config.update(ld.algorithm.config_extra(trial))
    return config


# -- handing out trials -------------------------------------------------------
def propose(storage: Storage) -> TrialRecord | None:
    """Creates the algorithm's next trial in state QUEUED; None once the plan
    is handed out. Call inside ``storage.locked()``."""
    ld = load(storage)
    _raise_if_failed(ld)
    handed_out = storage.count_trials()
    if handed_out < ld.plan.num_trials and ld.algorithm.budget_spent(storage):
        # the budget is spent early: the plan ends at the trials it has, stored
        # so that progress, the pages and ASHA's backfill all see it
        ld.meta["plan"] = {**ld.meta["plan"], "num_trials": handed_out,
                           "planned_trials": ld.meta["plan"].get("planned_trials", ld.plan.num_trials)}
        storage.save_meta(ld.meta)
        ld = load(storage)
    new = ld.algorithm.next_trial(storage)
    if new is None:
        if not ld.meta.get("search_over") and storage.count_trials() < ld.plan.num_trials:
            # the space ran out of new configs before num_trials: remembered
            # so that progress() still reaches 1.0
            ld.meta["search_over"] = True
            storage.save_meta(ld.meta)
        return None
    return storage.add_trial(
        TrialRecord(trial_id=-1, params=new.params, iterations=new.iterations,
                    subset_ratio=new.subset_ratio, bracket=new.bracket)
    )


def start(storage: Storage, trial: TrialRecord, owner: str) -> dict:
    """QUEUED -> RUNNING, returns the train config. Inside ``locked()``."""
    if trial.state is not TrialState.QUEUED:
        raise HpoError(f"trial {trial.trial_id} is {trial.state.value}, not queued")
    ld = load(storage)
    name = ld.settings.batch_size_name
    if name is not None and trial.params[name] > ld.space[name].high:
        # the batch-size range shrank (another trial ran out of memory) while it waited
        trial.params[name] = ld.space[name].grid()[-1]
    trial.state = TrialState.RUNNING
    trial.attempt += 1
    trial.owner = owner
    trial.last_iteration = trial.resume_iteration
    if trial.resume_iteration == 0:
        trial.last_score = None  # from scratch: no report of this attempt yet
    storage.save_trial(trial)
    return train_config(storage, ld, trial)


def next_sample(storage: Storage, owner: str) -> dict | None:
    """A queued trial (an OOM or interrupted re-run) first, else a new one."""
    with storage.locked():
        _raise_if_failed(load(storage))
        trial = next((t for t in storage.trials() if t.state is TrialState.QUEUED), None)
        if trial is None:
            trial = propose(storage)
        if trial is None:
            return None
        return start(storage, trial, owner)


# -- reports ------------------------------------------------------------------
def check_score(score) -> float:
    if isinstance(score, bool) or not isinstance(score, numbers.Real):
        raise ValueError(f"score must be a finite number (got {type(score).__name__} {score!r})")
    value = float(score)
    if not math.isfinite(value):
        raise ValueError(f"score must be a finite number (got {value}); nothing was stored")
    return value


#: the dashboard stores iterations in a 32-bit column; the same limit on every
#: storage, so that a trainer that works with files also works in a worker
MAX_ITERATION = 2**31 - 1


def check_iteration(iteration) -> None:
    if iteration is not None and (isinstance(iteration, bool) or not isinstance(iteration, numbers.Integral)
                                  or not 1 <= iteration <= MAX_ITERATION):
        raise ValueError(f"iteration must be an integer from 1 to {MAX_ITERATION} (got {iteration!r})")


def _reported_trial(storage: Storage, trial_id) -> TrialRecord:
    """The trial a report names; a ValueError (like any other config that is
    not a train config) when the study has no such trial."""
    try:
        return storage.get_trial(trial_id)
    except KeyError:
        raise ValueError(f"config must be the train config that get_next_sample() returned "
                         f"(this study has no trial {trial_id!r})") from None


def report(storage: Storage, trial_id: int, score, iteration: int | None = None) -> Status:
    """Stores one score and decides. Returns Status.RUNNING or Status.STOP.

    ``iteration`` defaults to the trial's last iteration + 1 (the first
    report of an attempt is resume_iteration + 1). Reporting an iteration that
    is already stored replaces its score (a re-run trains it again); a report
    for a trial that is not running stores nothing and answers STOP.
    """
    value = check_score(score)
    check_iteration(iteration)
    # the iteration this report is for, fixed by the first try: if a commit
    # was lost with its connection after all, a retry replaces the same
    # score instead of storing it again one iteration further
    resolved = [int(iteration) if iteration is not None else None]

    def block() -> Status:
        with storage.locked():
            trial = _reported_trial(storage, trial_id)
            if trial.state is not TrialState.RUNNING:
                return Status.STOP
            if resolved[0] is None:
                resolved[0] = trial.last_iteration + 1
            return _store_and_decide(storage, trial, resolved[0], value)

    return storage.retrying(block)


def _store_and_decide(storage: Storage, trial: TrialRecord, iteration: int, value: float) -> Status:
    """report()'s read-decide-write, inside ``locked()``."""
    ld = load(storage)
    if storage.add_score(trial.trial_id, iteration, value):
        # it replaced a score (also one of an earlier attempt: an interrupted
        # trial re-runs from scratch), which may have been the best
        trial.best_score = best_of([v for _, v in storage.scores(trial.trial_id)], ld.settings.mode)
    else:
        # best_score is the best of the stored scores, and one was added
        trial.best_score = best_of([v for v in (trial.best_score, value) if v is not None], ld.settings.mode)
    trial.last_iteration, trial.last_score = iteration, value
    decision = ld.algorithm.on_report(storage, trial, iteration)
    if decision is Decision.STOP:
        trial.state = TrialState.STOPPED
    elif decision is Decision.COMPLETE:
        trial.state = TrialState.COMPLETED
    elif trial.pending == "pause":
        # keeps its progress: the next attempt starts after this iteration
        trial.state, trial.resume_iteration, trial.owner = TrialState.PAUSED, iteration, ""
        decision = Decision.STOP
    trial.pending = ""
    storage.save_trial(trial)
    return Status.RUNNING if decision is Decision.CONTINUE else Status.STOP


def report_oom(storage: Storage, trial_id: int) -> Status:
    """The trial ran out of memory: it goes back to the queue to run again.

    With batch_size_name, the study's batch-size range shrinks below the failed
    size (stored, so later samples and a resume respect it) and the trial
    re-runs at the new upper bound. When even the smallest size failed, the
    study fails with a clear error (raised here and by get_next_sample).
    """
    status, error = storage.retrying(lambda: _report_oom(storage, trial_id))
    if error:
        # raised once the lock is released: an exception inside locked()
        # discards the block's writes, and the failure must be stored
        raise HpoError(error)
    return status


def _report_oom(storage: Storage, trial_id: int) -> tuple[Status, str]:
    """report_oom()'s read-decide-write: (status, "") or (STOP, the study's error)."""
    error = ""
    with storage.locked():
        trial = _reported_trial(storage, trial_id)
        if trial.state is not TrialState.RUNNING:
            return Status.STOP, ""
        ld = load(storage)
        name = ld.settings.batch_size_name
        trial.oom_count += 1
        if name is None:
            if trial.oom_count >= MAX_OOM_RETRIES:
                _finish(storage, trial, TrialState.FAILED,
                        f"CUDA out of memory {trial.oom_count} times; set batch_size_name so "
                        "hpopt can lower the batch size")
                return Status.STOP, ""
        else:
            try:
                space = ld.space.shrink_below(name, trial.params[name])
            except SpaceExhausted as exc:
                error = f"{exc}; the study cannot continue"
                _finish(storage, trial, TrialState.FAILED, error)
                ld.meta["error"] = error
                storage.save_meta(ld.meta)
            else:
                ld.meta["space"] = space.to_spec()
                storage.save_meta(ld.meta)
                trial.params[name] = space[name].grid()[-1]
        if not error:
            storage.clear_scores(trial.trial_id)
            # a pause asked for before the OOM still holds: wait paused, not queued
            trial.state = TrialState.PAUSED if trial.pending == "pause" else TrialState.QUEUED
            trial.pending = ""
            trial.rungs, trial.best_score, trial.last_score = {}, None, None
            trial.last_iteration = trial.resume_iteration = 0
            storage.save_trial(trial)
            return Status.CUDAOOM, ""
    return Status.STOP, error


# -- ending trials --------------------------------------------------------------
def _finish(storage: Storage, trial: TrialRecord, state: TrialState, error: str = "") -> None:
    trial.state = state
    trial.pending = ""  # a pause that found no further report has nothing left to pause
    trial.error = error or trial.error
    storage.save_trial(trial)


def finish(storage: Storage, trial_id: int, error: str = "") -> TrialState:
    """The trainer returned (or raised, with ``error``). A running trial ends
    COMPLETED when it reported a score, FAILED otherwise; any other state is
    left as it is. Returns the trial's state."""
    def block() -> TrialState:
        with storage.locked():
            trial = storage.get_trial(trial_id)
            if trial.state is TrialState.RUNNING:
                if error:
                    _finish(storage, trial, TrialState.FAILED, error)
                elif trial.best_score is None:
                    _finish(storage, trial, TrialState.FAILED, "the trainer returned without reporting a score")
                else:
                    _finish(storage, trial, TrialState.COMPLETED)
            return trial.state

    return storage.retrying(block)


def requeue(storage: Storage, trial_id: int, keep_progress: bool) -> bool:
    """RUNNING or PAUSED -> QUEUED, to run again (an interrupted or resumed
    trial). With keep_progress the next attempt starts after the last stored
    iteration; otherwise from scratch (its scores are replaced as it re-reports)."""
    with storage.locked():
        trial = storage.get_trial(trial_id)
        if trial.state not in (TrialState.RUNNING, TrialState.PAUSED):
            return False
        trial.resume_iteration = trial.last_iteration if keep_progress else 0
        trial.state = TrialState.QUEUED
        trial.owner = ""
        storage.save_trial(trial)
        return True


def _raise_if_failed(ld: Loaded) -> None:
    if ld.meta.get("error"):
        raise HpoError(ld.meta["error"])


# -- results --------------------------------------------------------------------
def best_of(values: list[float], mode: str) -> float | None:
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


def final_score(trial) -> float | None:
    """What a trial is ranked by for the best config: the score its training
    ended with (its latest report), as Ray Tune's ``scope="last"`` and
    Optuna's trial value; the best score for trials stored before hpopt kept it.
    ``trial``: a TrialRecord, or anything with ``best_score`` and ``last_score``
    (the dashboard's Trial rows)."""
    return trial.best_score if trial.last_score is None else trial.last_score


def best_trial(storage: Storage, mode: str) -> TrialRecord | None:
    """The best config to recommend, by its final score (``final_score``:
    the latest report, not the best epoch: a lucky or overfitted epoch is not
    what a full training delivers; benchmarks/RESULTS.md measured the
    difference), from the first non-empty pool of:

    1. completed trials trained to the study's full length (the most
       ``iterations`` of any scored trial: ``max_iterations``; with ASHA's
       backfill, extra trials get fewer);
    2. any completed trial (a shorter one only counts while no full-length
       trial has completed);
    3. every trial in BEST_CANDIDATE_STATES (running ones included, so a study
       in progress has a best so far).

    A trial stopped early, or a backfill trial trained to a smaller budget,
    scored at low fidelity: its score is not the one a full training gives
    (benchmarks/RESULTS.md measures the difference), so it never beats a
    full-length training. Ties go to the earlier trial."""
    scored = [t for t in storage.trials() if t.best_score is not None and t.state in BEST_CANDIDATE_STATES]
    if not scored:
        return None
    full = max(t.iterations for t in scored)
    completed = [t for t in scored if t.state is TrialState.COMPLETED]
    pool = [t for t in completed if t.iterations == full] or completed or scored
    sign = 1 if mode == "max" else -1
    return max(pool, key=lambda t: (sign * final_score(t), -t.trial_id))


def epochs_spent(storage: Storage) -> float:
    """Epochs trained so far over all trials (on the planned subset)."""
    return sum(t.last_iteration for t in storage.trials() if t.state is not TrialState.QUEUED)


def progress(storage: Storage) -> float:
    """Fraction of the planned epochs spent, in [0, 1]; 1.0 once nothing is left to run.
    ASHA's backfill trials (past num_trials) count as spent epochs too."""
    ld = load(storage)
    trials = storage.trials()
    handed_out = len(trials) >= ld.plan.num_trials or ld.meta.get("search_over")
    if trials and handed_out and all(t.state.is_finished() for t in trials):
        return 1.0
    planned = max(ld.plan.expected_epochs, 1e-9)
    return min(1.0, epochs_spent(storage) / planned)

