"""Progress of a study: one rule for the library's ``get_progress()``, the
dashboard's bar, its list and its API. Everything is compute in full-epoch
equivalents (hpopt.budget), so the text, the figures and the bar share one
denominator:

* ``spent``: what every trial spent (every epoch, every attempt's start-up);
* ``total``: the budget's compute under the hard budget (hpopt.budget),
  otherwise the compute the plan expects;
* ``fraction``: spent / total, 1.0 once nothing is left to run, and at most
  ``BEFORE_DONE`` until then (a study can outrun a plan it does not keep to:
  the bar then waits just short of the end instead of claiming it, and never
  moves back while epochs are trained);
* ``remaining``: under the hard budget, what the budget has left (it holds
  every commitment); otherwise the larger of what the total leaves and what
  the open trials are certain to spend still (each up to its next decision:
  its next ASHA rung or its end), plus the trials the plan has not created
  yet at the plan's per-trial average; 0 once the study ended. The
  dashboard's ETA (``eta_seconds``) schedules it over the workers.

Nothing is left to run when no trial is open and the plan is handed out: all
its trials were created, the space ran out of configs, or the hard budget
could not pay for another trial (once no trial is open, not even its first
stretch: Algorithm.idle_start_fits).
"""
from __future__ import annotations

import dataclasses
import heapq
import math

from hpopt import algorithms, timing
from hpopt.status import TrialState

#: the largest fraction shown while work is left
BEFORE_DONE = 0.99


@dataclasses.dataclass(frozen=True)
class Progress:
    fraction: float
    spent: float
    total: float
    remaining: float
    #: trials created so far
    created: int = 0


def progress(meta, spent: float, open_trials, created: int, *, ended: bool = False) -> Progress:
    """The rule above. ``meta``: the study's hpopt.snapshot.Meta; ``open_trials``:
    the queued, running and paused trials (TrialRecords); ``created``: how
    many trials exist; ``ended``: the study will train nothing more (it was
    completed, killed or failed)."""
    algorithm = algorithms.build(meta)
    plan = meta.plan
    total = max(plan.budget_compute if algorithm.budgeted else plan.expected_compute, 1e-9)
    # a refusal while trials ran is lifted when they end if the budget still pays for a
    # new trial's first stretch (ASHA's idle rule): until the runner asks again, the
    # study is not done (the bar showed 100% and then fell back to 93%)
    # (only asked with no trial open: that is when handed_out counts)
    refused = meta.budget_refused and not algorithm.idle_start_fits(spent, created)
    handed_out = created >= plan.num_trials or meta.search_over or refused
    if created and handed_out and not open_trials:
        return Progress(1.0, spent, total, 0.0, created)
    if ended:
        remaining = 0.0
    elif algorithm.budgeted:
        # the hard budget holds every commitment inside it
        remaining = max(0.0, total - spent)
    else:
        committed = sum(algorithm.certain_cost(t) for t in open_trials)
        remaining = max(total - spent, committed + max(0, plan.num_trials - created) * plan.trial_cost_epochs())
    return Progress(min(BEFORE_DONE, spent / total), spent, total, remaining, created)


def trial_count(created: int, planned: int | None, short: int = 0) -> dict:
    """How many trials a study has against its plan, in the words the list
    and the study page both show. ASHA may create more trials than planned:
    backfill trials (``short``: fewer epochs than the full length, handed to
    idle workers at the end) and, under the hard budget, full-length ones
    while the budget pays for them. {"created", "planned", "short", "note":
    "of 64 planned" | "64 planned + 1 backfill" | "" without a plan,
    "text": the whole, e.g. "65 trials (64 planned + 1 backfill)"}."""
    word = "trial" if created == 1 else "trials"
    out = {"created": created, "planned": planned, "short": short}
    if not planned:
        return {**out, "note": "", "text": f"{created} {word}"}
    full = created - short
    if not short and full <= planned:
        return {**out, "note": f"of {planned} planned", "text": f"{created} of {planned} planned trials"}
    parts = [f"{planned} planned" if full >= planned else f"{full} of {planned} planned"]
    if full > planned:
        parts.append(f"{full - planned} more within the budget")
    if short:
        parts.append(f"{short} backfill")
    note = " + ".join(parts)
    return {**out, "note": note, "text": f"{created} {word} ({note})"}


def of_trials(meta, trials) -> Progress:
    """Progress from a study's meta and all its trials."""
    return progress(meta, sum(t.spent for t in trials), [t for t in trials if not t.state.is_finished()],
                    len(trials), ended=bool(meta.error))


def epochs_trained(trials) -> int:
    """Epochs trained by the trials as they stand (a queued re-run's earlier progress not counted)."""
    return sum(t.last_iteration for t in trials if t.state is not TrialState.QUEUED)


MAX_PIECES = 4096   # new trials scheduled one by one; the rest in rounds


def eta_seconds(meta, p: Progress, open_trials, parallel: int, model, until: float | None = None,
                now: float | None = None) -> float:
    """Seconds left, for a study in progress, at the time model's speed
    (hpopt.timing: seconds per full epoch, start-up seconds per trial; a
    trial timed over two epochs or more at its own speed): the work left is
    scheduled over ``parallel`` workers, each taking the next piece as soon
    as it is free (as the runner does): the running trials' expected rest
    on their workers, then the queued trials, then the new trials the
    remaining compute pays for. A new trial costs what the study's trials
    cost so far (what they spent and are expected to spend still, per trial
    created), not the plan's model: a sampler that improves sends more
    trials past ASHA's rungs than its 1/eta, so fewer, longer trials are
    left than the plan says. Rounds of trials (Bayesian optimization) come
    out of the schedule; the drain at the end does not (every piece there
    is an average): the ETA is never less than ``last_end``, the median of
    the time the last trial ends, each trial ending at its next rung, a
    later one or its end with the chance Auto Config's model gives it.
    ``until``: seconds to the study's deadline, if it has one: a new trial
    starts only while it is expected to end by then (at the plan's cost per
    trial, timing.new_trial_seconds: the runner's rule, studies.deadline).
    ``now`` (Unix seconds, the clock of the trials' ``started`` and
    ``reported``): a running trial has done part of its current piece
    already (its start-up and first epoch, or the epoch since its last
    report), up to all of it; without it the ETA stood still between a
    trial's reports and rose by its start-up when it started."""
    algorithm = algorithms.build(meta)
    plan, startup = meta.plan, model.startup_seconds
    at = _Pace(algorithm, model, now)
    running = [t for t in open_trials if t.state is TrialState.RUNNING]
    # (a trial waiting at an ASHA rung is expected to cost nothing: its promotion
    # is counted with the new trials', hpopt.algorithms.asha)
    waiting = [t for t in open_trials if t.state is not TrialState.RUNNING and algorithm.expected_cost_left(t) > 0]
    last = [at.ends(at.ahead(t), t, algorithm.stretches(t)) for t in running]
    free = [max(0.0, at.rest(t) + at.ahead(t)) for t in running]
    free += [0.0] * max(0, parallel - len(free))
    heapq.heapify(free)
    new_trials, per_trial, free_now = _new_trials(algorithm, p, open_trials, model)
    # when the first running trial reaches its next rung (its nearest end)
    released = min((ends[0][0] for ends in last if ends), default=0.0)
    starts = []

    def place(piece, queued, new_id, earliest=0.0):
        start = max(heapq.heappop(free), earliest)
        heapq.heappush(free, start + piece)
        starts.append((start + startup, queued, new_id))

    for t in waiting:
        place(startup + at.rest(t), t, None)
    # new trials come last, each while it would end by the deadline (the first free
    # worker is the earliest); whole rounds beyond MAX_PIECES go on every worker at
    # once (equal pieces taken greedily are rounds): the schedule's size stays bounded
    latest = math.inf if until is None else until - timing.new_trial_seconds(plan, model)
    rounds = max(0, int(new_trials) - MAX_PIECES) // len(free)
    if rounds and latest < math.inf:
        rounds = min(rounds, max(0, int((latest - max(free)) // max(per_trial, 1e-9))))
    free = [t + rounds * per_trial for t in free]   # (still a heap)
    new_trials -= rounds * len(free)
    pieces = [(per_trial, p.created + rounds * len(free) + j) for j in range(int(new_trials))]
    pieces += [(per_trial * (new_trials % 1), None)] if new_trials % 1 else []
    for j, (piece, new_id) in enumerate(pieces):
        # the trials the budget pays for only once a running trial stops wait for that
        earliest = 0.0 if rounds * len(free) + j + 1 <= free_now else released
        if max(free[0], earliest) > latest:
            break
        place(piece, None, new_id, earliest)
    scheduled = max(free)
    fresh = plan.epoch_cost() * model.seconds_per_epoch
    for start, queued, new_id in starts:
        if queued is not None:
            last.append(at.ends(start, queued, algorithm.stretches(queued)))
        elif new_id is not None and start + plan.max_iterations * fresh > scheduled:   # (only these can end later)
            last.append([(start + epochs * fresh, chance) for epochs, chance in algorithm.fresh_stretches(new_id)])
    return max(scheduled, last_end(last, scheduled))


@dataclasses.dataclass(frozen=True)
class _Pace:
    """Where the open trials stand, in seconds, for eta_seconds."""

    algorithm: object
    model: object
    now: float | None

    def speed(self, t) -> float:
        """A trial's own seconds per full epoch once timed, else the model's."""
        own = timing.own_seconds_per_epoch(t, self.algorithm.plan)
        return self.model.seconds_per_epoch if own is None else own

    def epoch(self, t) -> float:
        return self.algorithm.epoch_cost(t) * self.speed(t)

    def rest(self, t) -> float:
        """The epochs it is expected to train still."""
        return self.algorithm.expected_epochs_left(t) * self.epoch(t)

    def ends(self, at: float, t, stretches) -> list[tuple[float, float]]:
        return [(at + epochs * self.epoch(t), chance) for epochs, chance in stretches]

    def ahead(self, t) -> float:
        """Seconds to a running trial's next report, less its epochs up to it:
        its start-up until the attempt reports (the piece's first epoch is in
        ``rest``), less the time it has spent on the piece already."""
        first = t.reported is None
        startup = self.model.startup_seconds if first else 0.0
        since = t.started if first else t.reported
        if self.now is None or since is None:
            return startup
        return startup - min(max(0.0, self.now - since), startup + self.epoch(t))


def _new_trials(algorithm, p: Progress, open_trials, model) -> tuple[float, float, float]:
    """(new trials the remaining compute pays for, seconds each, how many of
    them the hard budget lets start now). A new trial costs what the study's
    trials cost so far, at least its start-up and one epoch: trials that
    failed before their first report spent nothing, and remaining / 0 new
    trials is no schedule. Under the hard budget a new trial starts only in
    what the open trials are not certain to spend and the best candidate's
    promotions leave (hpopt.budget, the engine's rule); the rest is freed
    when a running trial stops at its next rung (near the end, a worker
    stood idle while the ETA gave it one more trial)."""
    plan = algorithm.plan
    open_left = sum(algorithm.expected_cost_left(t) for t in open_trials)
    cost = (p.spent + open_left) / p.created if p.created else plan.trial_cost_epochs()
    cost = max(cost, plan.startup_epochs + plan.epoch_cost())
    seconds = max(cost - plan.startup_epochs, 0.0) * model.seconds_per_epoch + model.startup_seconds
    paid = max(0.0, p.remaining - open_left) / cost
    if not algorithm.budgeted:
        return paid, seconds, math.inf
    held = sum(algorithm.certain_cost(t) for t in open_trials) + algorithm.promotion_reserve(open_trials)
    return paid, seconds, max(0.0, p.remaining - held) / cost


def last_end(ends, past: float) -> float:
    """The median of the time the last trial ends, where it is later than
    ``past`` (0 otherwise). ``ends``: per trial, where it may end (seconds
    from now, the chance it trains that far; chances fall along a trial).
    The last end is ``s`` or later with chance 1 - prod(1 - each trial's
    chance to train to ``s`` or past it): the largest ``s`` where that
    reaches one half."""
    points = sorted(((seconds, chance, i) for i, trial in enumerate(ends) for seconds, chance in trial
                     if seconds > past), key=lambda e: -e[0])
    # from the farthest in: a trial's chance to train to s or past it is that of its nearest end at or past s
    none_past, held = 1.0, {}
    for seconds, chance, i in points:
        if chance >= 1.0:
            return seconds
        none_past *= (1.0 - chance) / (1.0 - held.get(i, 0.0))
        held[i] = chance
        if none_past <= 0.5:
            return seconds
    return 0.0
