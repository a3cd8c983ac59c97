"""The study engine: every decision of a study, on any storage.

Each function takes a :class:`~hpopt.storage.base.Storage`, holds its lock
for the whole read-decide-write, loads what the decision needs once (a
:class:`~hpopt.snapshot.Snapshot`), lets the algorithm decide from those
values, and saves the result through ``Storage.update_trial``, which checks
the move against the transition table (hpopt.transitions) and writes only if
the trial is still as it was read. The standalone library (``hpopt.study``)
and the dashboard's workers call these same functions, so a trainer behaves
the same in a script and in a worker.

Fencing: a train config carries the ``attempt`` it was handed out as. A
report, an out-of-memory report or a finish from an attempt that is no
longer the trial's current one (the trial was paused and resumed elsewhere,
or given up as lost and run again) changes nothing and answers STOP.
"""
from __future__ import annotations

import dataclasses
import numbers
import time

from hpopt import algorithms, budget, configs, oom_bounds, snapshot
from hpopt.algorithms.promotion import waiting_rung
from hpopt.best import best_of
from hpopt.errors import HpoError, NoRoom
from hpopt.fields import MAX_ITERATION, is_finite_number
from hpopt.snapshot import Meta, Needs, Snapshot
from hpopt.status import Decision, Pending, Status, TrialState
from hpopt.storage.base import Storage, TrialRecord

#: without batch_size_name an OOM re-runs the same config at most this often
MAX_OOM_RETRIES = 3


def train_config(storage: Storage, meta: Meta, trial: TrialRecord) -> dict:
    """The dict a trainer receives. The guide's sample reads params,
    iterations and subset_ratio (and, in one place, ``param``: the same dict);
    ``storage`` lets report() find the study, and ``attempt`` fences its writes."""
    params = dict(trial.params)
    config = {
        "trial_id": trial.trial_id,
        "params": params,
        "param": params,
        "iterations": trial.iterations,
        "subset_ratio": trial.subset_ratio,
        "mode": meta.settings.mode,
        "attempt": trial.attempt,
        "resume_iteration": trial.resume_iteration,
        "checkpoint_dir": storage.checkpoint_dir(trial.trial_id),
        "batch_size_name": meta.settings.batch_size_name,
        "file_path": meta.settings.save_path,
        "storage": storage.spec,
    }
    config.update(algorithms.build(meta).config_extra(trial))
    return config


def is_current(trial: TrialRecord, attempt: int | None) -> bool:
    """Whether a write of ``attempt`` may change the trial: it is running,
    and that attempt is its current one (None: the writer does not say, as
    a train config from before hpopt fenced attempts)."""
    return trial.state is TrialState.RUNNING and (attempt is None or attempt == trial.attempt)


def move(storage: Storage, trial: TrialRecord, state: TrialState, **changes) -> TrialRecord:
    """Writes ``trial`` in ``state`` with ``changes`` (checked against the
    transition table, conditional on the trial as read); returns the new record.
    Moving to a finished state, or out of running, drops a pending pause: it
    has nothing left to pause."""
    if state is not TrialState.RUNNING:
        changes.setdefault("pending", Pending.NONE)
    new = trial.replace(state=state, **changes)
    storage.update_trial(trial, new)
    return new


# -- handing out trials -------------------------------------------------------
def propose(storage: Storage, snap: Snapshot, count: int = 1,
            params: dict | None = None) -> tuple[Meta, list[TrialRecord]]:
    """Creates up to ``count`` new trials in state QUEUED, from a snapshot
    with every trial; fewer once the plan is handed out. Returns the study's
    meta as it is now (the budget guard may have cut the plan) and the new
    trials. ``params``: a config given by hand (see ``enqueue``) for the
    first of them instead of a sampled one. Call inside ``storage.locked()``."""
    meta = snap.meta
    _raise_if_failed(meta)
    algorithm = algorithms.build(meta)
    made = []
    for _ in range(count):
        handed_out = len(snap.trials)
        if handed_out < meta.plan.num_trials and algorithm.budget_spent(snap):
            # the budget is spent early: the plan ends at the trials it has, stored
            # so that progress, the pages and ASHA's backfill all see it
            meta = _save(storage, meta, plan={**meta.raw["plan"], "num_trials": handed_out,
                                              "planned_trials": meta.planned_trials})
            algorithm, snap = algorithms.build(meta), dataclasses.replace(snap, meta=meta)
        new = algorithm.next_trial(snap, params)
        if new is None:
            if algorithm.space_exhausted and not meta.search_over:
                # the space ran out of new configs: remembered so that progress still reaches 1.0
                meta = _save(storage, meta, search_over=True)
            elif algorithm.budgeted and not meta.budget_refused:
                # the hard budget cannot pay for another trial now (it may once
                # an open trial stops early): the pages say so
                meta = _save(storage, meta, budget_refused=True)
            break
        if meta.budget_refused:
            meta = _save(storage, meta, budget_refused=False)
        record = storage.add_trial(TrialRecord(trial_id=-1, params=new.params, iterations=new.iterations,
                                               subset_ratio=new.subset_ratio, bracket=new.bracket,
                                               hand_picked=params is not None))
        made.append(record)
        params = None
        if len(made) < count:   # (the last one's copy of every trial would go unread)
            snap = snap.with_trial(record)
    return meta, made


def enqueue(storage: Storage, params: dict) -> TrialRecord:
    """Queues a config given by hand ("try this one", Optuna's
    ``enqueue_trial``) as a new trial, in state QUEUED; returns it.

    ``params`` must give every parameter of the (current) search space a
    valid value: ConfigError names each one at fault, and nothing is stored.
    The trial is made by ``propose``, as a sampled one would be at this
    moment: it takes the place of the next sampled trial (it counts towards
    num_trials), gets the fidelity (iterations, subset, bracket) a new trial
    gets, and the hard budget must pay for it (NoRoom otherwise, nothing
    stored). Queued trials are handed out before new ones are sampled
    (``next_sample``; the dashboard's ``fill_slots``), and its scores feed
    the algorithms like any other trial's. ``hand_picked`` marks it."""
    with storage.locked() as raw:
        meta = Meta.from_dict(raw)
        _raise_if_failed(meta)
        clean = configs.check(meta.space, params)
        _, made = propose(storage, snapshot.load(storage, meta), 1, params=clean)
        if not made:
            # raised inside the lock: whatever propose wrote (a cut plan, a flag) is discarded
            raise NoRoom("the study has no room for another trial now: its plan's trials are all handed out "
                         "or its budget cannot pay for one; give it more budget first")
        return made[0]


def start(storage: Storage, meta: Meta, trial: TrialRecord, owner: str, *, since: float | None = None) -> dict | None:
    """QUEUED -> RUNNING as a new attempt; returns the train config. Inside
    ``locked()``. ``since``: when the attempt's clock starts, if not now (a
    runner that spends time of its own around each trial starts it when the
    worker was free for it, so the time model counts that time). Under the
    hard budget a trial that ran before (paused and resumed, or a lost
    attempt run again) starts again only if the budget can pay for the rest
    of it; otherwise it is stopped, and None is returned. So is a trial
    whose model fits at no batch size (hpopt.oom_bounds: exhausted)."""
    if trial.state is not TrialState.QUEUED:
        raise HpoError(f"trial {trial.trial_id} is {trial.state.value}, not queued")
    algorithm = algorithms.build(meta)
    if trial.attempt and algorithm.budgeted:
        snap = snapshot.load(storage, meta, Needs(budget=True))
        if not budget.ledger(algorithm, snap.spent, snap.open, exclude=trial.trial_id).fits(
                algorithm.certain_cost(trial)):
            move(storage, trial, TrialState.STOPPED, stop_reason="budget reached: no room to run it again")
            return None
    params = dict(trial.params)
    name = meta.settings.batch_size_name
    if name is not None:
        key = oom_bounds.memory_key(meta.space, name, params)
        if oom_bounds.exhausted(meta.space, name, oom_bounds.bound_of(meta.oom_bounds, key)):
            # no batch size fits this model: running it would only fail again
            why = oom_bounds.exhausted_error(meta.space, name, key)
            move(storage, trial, TrialState.STOPPED, stop_reason=f"not run: {why}")
            return None
        # what the study learned about memory since it was queued (another trial ran out of memory)
        params[name] = _batch_size(meta, name, params)
    new = move(storage, trial, TrialState.RUNNING, params=params, attempt=trial.attempt + 1, owner=owner,
               last_iteration=trial.resume_iteration, started=time.time() if since is None else since, reported=None,
               stop_reason="",
               # every attempt pays its start-up
               spent=trial.spent + meta.plan.startup_epochs,
               # from scratch: no report of this attempt yet
               last_score=None if trial.resume_iteration == 0 else trial.last_score)
    return train_config(storage, meta, new)


def next_sample(storage: Storage, owner: str) -> dict | None:
    """A queued trial (an OOM or interrupted re-run) first, then a trial
    waiting at an ASHA rung that is promoted (promotion="pause"), else a new
    one; once none is handed out, a waiting trial promoted by the relaxed
    rule (hpopt.algorithms.promotion), and when nothing runs either, the
    trials still waiting are stopped."""
    with storage.locked() as raw:
        meta = Meta.from_dict(raw)
        _raise_if_failed(meta)
        snap = snapshot.load(storage, meta)
        # the open trials, in id order: the queued ones among them without a pass over every trial
        for trial in (t for t in snap.open if t.state is TrialState.QUEUED):
            config = start(storage, meta, trial, owner)
            if config is not None:
                return config
            snap = None   # it was stopped: the snapshot is out of date
        while True:   # a trial stopped at its start (no batch size fits, no budget to resume): the next one
            snap = snap if snap is not None else snapshot.load(storage, meta)
            trial = promote(storage, snap)
            if trial is None:
                meta, made = propose(storage, snap)
                trial = made[0] if made else promote(storage, dataclasses.replace(snap, meta=meta), relaxed=True)
            if trial is None:
                stop_waiting(storage, snap)
                return None
            config = start(storage, meta, trial, owner)
            if config is not None:
                return config
            snap = None


def promote(storage: Storage, snap: Snapshot, relaxed: bool = False) -> TrialRecord | None:
    """Queues the waiting trial the algorithm promotes now (ASHA with
    promotion="pause"), to resume after its rung; returns it, or None.
    ``snap``: every trial. Call inside ``storage.locked()``."""
    algorithm = algorithms.build(snap.meta)
    missing = [r for r in algorithm.promotion_rungs(snap.open) if r not in (snap.rungs or {})]
    if missing:
        snap = dataclasses.replace(snap, rungs={**(snap.rungs or {}),
                                                **{r: storage.rung_arrays(*r) for r in missing}})
    trial = algorithm.promotion(snap, relaxed)
    return None if trial is None else move(storage, trial, TrialState.QUEUED, owner="", stop_reason="")


def stop_waiting(storage: Storage, snap: Snapshot) -> None:
    """Nothing is handed out: when nothing is queued or running either, no
    trial waiting at a rung can be promoted any more; each is stopped, its
    rung score its last (hpopt.best ranks it as any stopped trial)."""
    if any(t.state.is_active() for t in snap.open):
        return
    for t in snap.open:
        m = waiting_rung(t)
        if m is not None:
            move(storage, t, TrialState.STOPPED, stop_reason=f"not promoted past rung {m}: the study ended")


# -- reports ------------------------------------------------------------------
def check_score(score) -> float:
    if isinstance(score, bool) or not isinstance(score, numbers.Real):
        raise ValueError(f"score must be a finite number (got {type(score).__name__} {score!r})")
    if not is_finite_number(score):   # NaN, infinite, or an int beyond a float's range (10**400)
        shown = f"an integer of {len(str(abs(int(score))))} digits" if isinstance(score, numbers.Integral) else score
        raise ValueError(f"score must be a finite number (got {shown}); nothing was stored")
    return float(score)


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


def report(storage: Storage, trial_id: int, score, iteration: int | None = None,
           attempt: int | None = None) -> Status:
    """Stores one score and decides. Returns Status.RUNNING or Status.STOP.

    ``iteration`` defaults to the trial's last iteration + 1 (the first
    report of an attempt is resume_iteration + 1) and may not pass the
    trial's ``iterations`` (ValueError, nothing stored: a trainer reporting
    global steps would end its trial at once). Reporting an iteration that
    is already stored replaces its score (a re-run trains it again); a report
    for a trial that is not running, or from an attempt that is not the
    trial's current one, stores nothing and answers STOP.
    """
    value = check_score(score)
    check_iteration(iteration)
    # the iteration this report is for, fixed by the first try: if a commit
    # was lost with its connection after all, a retry replaces the same
    # score instead of storing it again one iteration further
    resolved = [int(iteration) if iteration is not None else None]

    def block() -> Status:
        with storage.locked() as raw:
            trial = _reported_trial(storage, trial_id)
            if not is_current(trial, attempt):
                return Status.STOP
            if resolved[0] is None:
                resolved[0] = trial.last_iteration + 1
            if resolved[0] > trial.iterations:
                raise ValueError(f"iteration {resolved[0]} is beyond this trial's iterations "
                                 f"({trial.iterations}): report epochs 1 to {trial.iterations}, not steps; "
                                 f"nothing was stored")
            return _store_and_decide(storage, Meta.from_dict(raw), trial, resolved[0], value)

    return storage.retrying(block)


def _store_and_decide(storage: Storage, meta: Meta, trial: TrialRecord, iteration: int, value: float) -> Status:
    """report()'s read-decide-write, inside ``locked()``."""
    mode = meta.settings.mode
    if storage.add_score(trial.trial_id, iteration, value):
        # it replaced a score (also one of an earlier attempt: an interrupted
        # trial re-runs from scratch), which may have been the best
        best = best_of([v for _, v in storage.scores(trial.trial_id)], mode)
    else:
        # best_score is the best of the stored scores, and one was added
        best = best_of([v for v in (trial.best_score, value) if v is not None], mode)
    reported = trial.replace(best_score=best, last_iteration=iteration, last_score=value,
                             **_accounted(meta, trial, iteration, time.time()))
    if trial.reported is None and meta.oom_bounds:
        _learn_fit(storage, meta, trial)
    algorithm = algorithms.build(meta)
    outcome = algorithm.on_report(snapshot.load(storage, meta, algorithm.report_needs(reported, iteration)),
                                  reported, iteration)
    if outcome.rungs is not None:
        reported.rungs = outcome.rungs
    decision = outcome.decision
    if decision is Decision.STOP:
        move(storage, trial, TrialState.STOPPED, **_fields(reported), stop_reason=outcome.reason)
    elif decision is Decision.COMPLETE:
        move(storage, trial, TrialState.COMPLETED, **_fields(reported))
    elif decision is Decision.PAUSE:
        # waits at its rung to be promoted (hpopt.algorithms.promotion), unless a
        # user's pause came first: then it waits for the user (no stop reason)
        waits = trial.pending is not Pending.PAUSE
        move(storage, trial, TrialState.PAUSED, **{**_fields(reported), "resume_iteration": iteration, "owner": "",
                                                  "stop_reason": outcome.reason if waits else ""})
    elif trial.pending is Pending.PAUSE:
        # keeps its progress: the next attempt starts after this iteration
        move(storage, trial, TrialState.PAUSED, **{**_fields(reported), "resume_iteration": iteration, "owner": ""})
        decision = Decision.STOP
    else:
        storage.update_trial(trial, reported)
    return Status.RUNNING if decision is Decision.CONTINUE else Status.STOP


_REPORTED = ("best_score", "last_iteration", "last_score", "reported", "rungs", "spent", "first_report",
             "epoch_seconds", "epoch_count")


def _fields(record: TrialRecord) -> dict:
    """What a report changed, to write with a move."""
    return {name: getattr(record, name) for name in _REPORTED}


def _accounted(meta: Meta, trial: TrialRecord, iteration: int, now: float) -> dict:
    """What a report at ``iteration`` adds to the trial's accounts: the epochs
    it trained since its last report (hpopt.budget), and their time (the
    first report of an attempt times its start-up and first epochs together)."""
    epochs = max(0, iteration - trial.last_iteration)
    out = {"reported": now, "spent": trial.spent + epochs * meta.plan.epoch_cost(trial.subset_ratio)}
    if trial.reported is None:
        out["first_report"] = None if trial.started is None else max(0.0, now - trial.started)
    elif epochs:
        out["epoch_seconds"] = trial.epoch_seconds + max(0.0, now - trial.reported)
        out["epoch_count"] = trial.epoch_count + epochs
    return out


def report_oom(storage: Storage, trial_id: int, attempt: int | None = None) -> Status:
    """The trial ran out of memory: it goes back to the queue to run again.

    With batch_size_name, the study remembers the failed size for the
    trial's memory key and the trial re-runs at half of it, or halfway
    between it and the largest size known to fit (hpopt.oom_bounds: O(log)
    re-runs; stored, so later samples and a resume respect it). When
    even the smallest size failed, the trial fails; for a study whose memory
    depends on the batch size alone, the study fails with a clear error
    (raised here and by get_next_sample).
    """
    status, error = storage.retrying(lambda: _report_oom(storage, trial_id, attempt))
    if error:
        # raised once the lock is released: an exception inside locked()
        # discards the block's writes, and the failure must be stored
        raise HpoError(error)
    return status


def _report_oom(storage: Storage, trial_id: int, attempt: int | None) -> tuple[Status, str]:
    """report_oom()'s read-decide-write: (status, "") or (STOP, the study's error)."""
    with storage.locked() as raw:
        trial = _reported_trial(storage, trial_id)
        if not is_current(trial, attempt):
            return Status.STOP, ""
        meta = Meta.from_dict(raw)
        name = meta.settings.batch_size_name
        oom_count = trial.oom_count + 1
        params = trial.params
        if name is None:
            if oom_count >= MAX_OOM_RETRIES:
                move(storage, trial, TrialState.FAILED, oom_count=oom_count,
                     error=f"CUDA out of memory {oom_count} times; set batch_size_name so "
                           "hpopt can lower the batch size")
                return Status.STOP, ""
        else:
            space = meta.space
            key = oom_bounds.memory_key(space, name, params)
            bound = oom_bounds.after_oom(oom_bounds.bound_of(meta.oom_bounds, key), params[name])
            changes = {"oom_bounds": {**meta.oom_bounds, key: bound.to_dict()}}
            if oom_bounds.exhausted(space, name, bound):
                error = oom_bounds.exhausted_error(space, name, key)
                if key and not oom_bounds.every_key_exhausted(space, name, changes["oom_bounds"]):
                    # other models may still fit: only this trial fails
                    move(storage, trial, TrialState.FAILED, oom_count=oom_count, error=error)
                    _save(storage, meta, **changes)
                    return Status.STOP, ""
                error = f"{error}; {'no model fits at any batch size; ' if key else ''}the study cannot continue"
                move(storage, trial, TrialState.FAILED, oom_count=oom_count, error=error)
                _save(storage, meta, **changes, error=error)
                return Status.STOP, error
            if not key:   # memory depends on the batch size alone: samplers keep below what failed
                changes["space"] = meta.space.shrink_below(name, bound.fails).to_spec()
            meta = _save(storage, meta, **changes)
            params = {**params, name: _batch_size(meta, name, params)}
        storage.clear_scores(trial.trial_id)
        # a pause asked for before the OOM still holds: wait paused, not queued
        move(storage, trial, TrialState.PAUSED if trial.pending is Pending.PAUSE else TrialState.QUEUED,
             params=params, oom_count=oom_count, rungs={}, best_score=None, last_score=None,
             last_iteration=0, resume_iteration=0, owner="")
        return Status.CUDAOOM, ""


def _batch_size(meta: Meta, name: str, params: dict):
    """The batch size a trial with ``params`` runs at (hpopt.oom_bounds)."""
    key = oom_bounds.memory_key(meta.space, name, params)
    size = oom_bounds.size_to_run(meta.space, name, oom_bounds.bound_of(meta.oom_bounds, key), params[name])
    # a study stored before bounds were kept has only its shrunk range
    return size if size <= meta.space[name].high else meta.space[name].grid()[-1]


def _learn_fit(storage: Storage, meta: Meta, trial: TrialRecord) -> None:
    """The first report of an attempt proves its batch size fits: remembered
    for its memory key when that teaches the bisection something."""
    name = meta.settings.batch_size_name
    if name is None:
        return
    key = oom_bounds.memory_key(meta.space, name, trial.params)
    learned = oom_bounds.after_fit(oom_bounds.bound_of(meta.oom_bounds, key), trial.params[name])
    if learned is not None:
        _save(storage, meta, oom_bounds={**meta.oom_bounds, key: learned.to_dict()})


# -- ending trials --------------------------------------------------------------
def finish(storage: Storage, trial_id: int, attempt: int | None = None, error: str = "") -> TrialState:
    """The trainer of ``attempt`` returned (or raised, with ``error``; or a
    sweep gave up on it). Its running trial ends COMPLETED when it reported
    a score, FAILED otherwise; a trial in any other state, or whose current
    attempt is another one, is left as it is. Returns the trial's state."""
    def block() -> TrialState:
        with storage.locked():
            trial = storage.get_trial(trial_id)
            if not is_current(trial, attempt):
                return trial.state
            if error:
                return move(storage, trial, TrialState.FAILED, error=error).state
            if trial.best_score is None:
                return move(storage, trial, TrialState.FAILED,
                            error="the trainer returned without reporting a score").state
            return move(storage, trial, TrialState.COMPLETED).state

    return storage.retrying(block)


def _raise_if_failed(meta: Meta) -> None:
    if meta.error:
        raise HpoError(meta.error)


def _save(storage: Storage, meta: Meta, **keys) -> Meta:
    meta = meta.replace(**keys)
    storage.save_meta(meta.to_dict())
    return meta
