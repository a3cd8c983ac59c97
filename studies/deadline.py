"""A wall-clock budget kept as a deadline.

When the user gives the budget as wall time ("budget": "45m", or
"done_by"), Auto Config turns it into compute once, at creation, with the
form's time model. A study that then runs slower than that model (a search
drifting towards slower configs, a busy host, a first study planned with the
trainer's own estimate) spends its compute and passes the wall time it was
given: 1.2-1.8x in benchmarks/RESULTS.md, issue 11. So such a study also
has a deadline, its start plus that wall time (or the done_by moment itself). A free slot gets a new trial
only while the trial is expected to end by then, at the study's own pace
(studies.timing.for_eta); the open trials run on (under the hard budget,
hpopt.budget, ASHA still promotes: the best configs get their full length
when the budget allows), and the study completes when they end.

The compute is also re-measured as the study runs (``remeasured_ratio``):
once a fifth of its wall time has passed, the compute it spent so far, at
that rate until the deadline, is what its wall time buys on these workers.
When that differs from its budget by more than a tenth, the study is
re-planned with it (hpopt.budget.remeasured), up or down. Up: a study
faster than its model (the model was measured while more trials shared the
cores, or on a busier host; eight CPU-bound workers on two cores deliver
more than the cores' count when the trials also wait on I/O) goes on
searching until its wall time is used instead of ending early with time
unspent: the user gave the time, not a number of epochs. Down: a slower one
plans its last trials for the compute it will really have, so that ASHA's
hard budget keeps the best candidates' promotions to full length within it
rather than the clock cutting them off.

The deadline is a moment: it does not move while the study is paused. Its
pace is measured over the time it ran (Study.paused_seconds): a pause for
lunch in a "done by 18:00" study leaves less time, not a slower study.
More wall time (POST /api/studies/<id>/budget {"budget": "30m"}) moves the
deadline by as much; more compute given otherwise (expected_time_ratio,
add_trials) drops it: the user asked for work, not for a time.
"""
from __future__ import annotations

import datetime

from hpopt import budget
from hpopt import progress as core_progress
from hpopt.timing import TimeModel, new_trial_seconds

#: the share of its wall time a study runs before its compute is re-measured
#: (before, its first trials' start-ups make the rate so far say too little)
REMEASURE_AFTER = 0.2
#: the budget is re-planned only when the measured compute differs by more than this share
REMEASURE_MARGIN = 0.1


def allows_new_trial(deadline, plan, model: TimeModel, now: datetime.datetime) -> bool:
    """Whether a new trial is expected to end by ``deadline`` (None: no deadline)."""
    return deadline is None or now + datetime.timedelta(seconds=new_trial_seconds(plan, model)) <= deadline


def at_start(wall_budget_seconds, moment, now: datetime.datetime) -> dict:
    """The fields a study starting at ``now`` gets: its deadline, when its
    budget is wall time: a duration from now, or the moment (done_by) it was
    given as, which stays."""
    if wall_budget_seconds is None or moment is not None:
        return {}
    return {"deadline": now + datetime.timedelta(seconds=wall_budget_seconds)}


def extended(deadline, seconds, now: datetime.datetime):
    """The deadline after the budget grew (see the module doc): ``seconds``
    more wall time from the deadline (from now, once it passed); None for
    compute given otherwise."""
    if deadline is None or seconds is None:
        return None
    return max(deadline, now) + datetime.timedelta(seconds=seconds)


def study_eta(meta, p, open_records, parallel: int, model: TimeModel, deadline, now: datetime.datetime,
              started=None, paused: float = 0.0) -> float:
    """A running study's ETA (the study page's and the list's): the core's
    schedule of the work left (hpopt.progress.eta_seconds) where, as in
    allows_new_trial, no new trial starts that would end past ``deadline``,
    then capped_eta. Without the deadline in the schedule, a study that
    stops starting trials before its deadline (its last ones end early) had
    the deadline's time left as its ETA."""
    until = None if deadline is None else max(0.0, (deadline - now).total_seconds())
    eta = core_progress.eta_seconds(meta, p, open_records, parallel, model, until=until, now=now.timestamp())
    return capped_eta(eta, deadline, now, started, budget.grows(meta.plan), paused, end_idle_seconds(meta.plan, model))


def capped_eta(eta, deadline, now: datetime.datetime, started=None, grows: bool = False, paused: float = 0.0,
               idle: float = 0.0):
    """The ETA of a study with a deadline: no new trial starts that would end
    past it. A study whose plan ``grows`` with its budget (its trial count is
    Auto Config's) and that would end well before its deadline at its pace
    will be re-measured up (``remeasured_ratio``, its workers ``idle`` for
    the last seconds) and go on until then: its ETA is that time already,
    not the end of the compute it has now (a fast study's ETA at a quarter
    of its progress was 40% short of the time it then ran:
    benchmarks/RESULTS.md, issue 11)."""
    if eta is None or deadline is None:
        return eta
    left = max(0.0, (deadline - now).total_seconds())
    if eta >= left or not grows or started is None:
        return min(eta, left)
    # At a steady pace the compute wanted at re-measuring over the budget is
    # the time it runs, less the idle end, over the time the budget takes
    # (see remeasured_ratio).
    ran, total = _running(started, deadline, now, paused)
    end = ran + eta
    if end > REMEASURE_AFTER * total and total - idle > end * (1.0 + REMEASURE_MARGIN):
        return max(eta, left - idle)
    return eta


def _running(started, deadline, now: datetime.datetime, paused: float) -> tuple[float, float]:
    """(seconds it ran so far, seconds it runs in all until the deadline): wall time less ``paused``."""
    return (now - started).total_seconds() - paused, (deadline - started).total_seconds() - paused


def remeasure_due(started, deadline, now: datetime.datetime, paused: float = 0.0) -> bool:
    """Whether a study started at ``started`` with ``deadline`` and paused
    for ``paused`` seconds so far is re-measured now: a fifth of the time it
    runs has passed, and its deadline has not."""
    if deadline is None or started is None:
        return False
    ran, total = _running(started, deadline, now, paused)
    return total > 0 and ran >= REMEASURE_AFTER * total and now < deadline


def end_idle_seconds(plan, model: TimeModel) -> float:
    """Seconds a worker is expected to idle before the deadline: no new trial
    starts that would end past it, so each worker's last trial ends between
    a trial's length and nothing before it: half a new trial on average."""
    return new_trial_seconds(plan, model) / 2


def remeasured_ratio(settings, plan, spent: float, started, deadline, now: datetime.datetime,
                     paused: float = 0.0, idle: float = 0.0) -> float | None:
    """The expected_time_ratio that buys what the study will have spent by
    ``deadline`` at the rate it spent ``spent`` (full-epoch equivalents,
    hpopt.budget) while it ran since ``started`` (``paused``: the seconds it
    was paused, which spent nothing; see the module doc), its workers idle
    for the last ``idle`` seconds (end_idle_seconds: without them, studies
    of trials long against their wall time ended with 0.78-0.92 of their
    budget spent, benchmarks/RESULTS.md); None while it is too early to
    tell, past the deadline, or within REMEASURE_MARGIN of the budget.
    (Whether the ratio is one a study may have is hpopt.budget.remeasured's
    rule.)"""
    if not remeasure_due(started, deadline, now, paused) or spent <= 0 or plan.budget_compute <= 0:
        return None
    ran, total = _running(started, deadline, now, paused)
    wanted = spent * max(total - idle, ran) / ran
    if abs(wanted / plan.budget_compute - 1.0) <= REMEASURE_MARGIN:
        return None
    # the compute is (ratio - 1) full trainings per worker (hpopt.plan.Plan.budget_compute):
    # affine in the ratio, not proportional (taken as proportional, a study planned at a
    # ratio near 1 was re-planned to 0.04x and then 38x its compute within a second)
    return 1.0 + (settings.expected_time_ratio - 1.0) * wanted / plan.budget_compute
