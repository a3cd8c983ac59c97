"""Asynchronous successive halving (ASHA), stop-based.

Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020
(arXiv 1810.05934).  As in the original hpopt, Ray Tune's ASHAScheduler and
Optuna's SuccessiveHalvingPruner, trials train continuously and are told to
stop: when a trial reaches a rung milestone its score there (the latest
report, as Ray Tune's ASHAScheduler and Optuna's pruners compare) is recorded,
and it continues only if it ranks in the top ``1/eta`` of the scores recorded
at that rung so far (at least the best one always continues, so the first
trial to arrive never waits for company).  Nothing ever waits for other
trials.  The score at the milestone, not the trial's best so far, because the
best config is ranked by its final score (hpopt.best): with a best-so-far
rung, a curve that dips early and rises again (a log-loss that overfits)
outranks one that ends lower (benchmarks/RESULTS.md, "Issue 12").

Brackets stagger the first rung (bracket b starts at ``min_iterations *
eta**b``) so that late bloomers get a longer look; trials are spread over
brackets round-robin. A bracket's first arrivals at a rung, while fewer than
``eta`` scores are recorded there in their own bracket, are ranked against
every bracket's scores at that epoch (scores at one epoch compare across
brackets) rather than continuing unranked: otherwise the first trial of each
bracket trains to the end whatever it scores. Auto Config chooses the number
of brackets from the budget (hpopt.plan, ``auto_brackets``).

Under the hard budget (hpopt.budget) the number of trials follows the budget:
a new full-length trial is handed out while what it is expected to spend (in
Auto Config's model: a fraction 1/eta of the trials passes each rung) fits
beside what the open trials are expected to spend still, and while its first
stretch fits in what the budget has left after their certain spending and
after the reserve that keeps the deepest open trial able to finish (or, once
no trial is open, while its first stretch fits in what is left). So new
trials stop before promotions do; a trial that ranks to continue at a rung
but whose next stretch the budget cannot pay is stopped ("budget reached").
With num_trials fixed by the user, no more than num_trials full-length trials
are handed out. Without the hard budget the plan's num_trials are handed out
as planned (with the budget guard of ``budget_spent`` when Auto Config chose
num_trials).

Backfill (``backfill=True``, the default): once no full-length trial is handed
out any more, a parallel study drains while its last trials train on. An idle
worker then gets an extra trial whose ``iterations`` are the most whole epochs
any running full-length trial is certain to start still (to its next rung, or
its end), so that at a similar speed per epoch it ends first; rungs below its
budget apply to it. Backfill trials never extend that bound themselves, and
one still training when the last full-length trial has ended is stopped at
its next report. With one process nothing runs when the loop asks, so no
backfill trial is created.

Promotion (``promotion="pause"``, hpopt.algorithms.promotion): instead of
deciding on arrival, a trial that reaches a rung and does not rank in the top
``floor(n / eta)`` there is paused (its trainer keeps a checkpoint) and
waits to be promoted: when a worker asks for work, the engine promotes the
best waiting trial of the highest rung that ranks in its quota, and the
trainer continues from ``resume_iteration``. One that ranks in it on arrival
continues at once (the promotion the next request would make). A waiting
trial is certain to spend nothing (it may never be promoted), and expected
to spend nothing either: it is promoted when later arrivals raise its rung's
quota, in place of one of them, and Auto Config's model (a fraction 1/eta of
the trials passes each rung) counts that promotion with theirs. A promotion
is taken on only if the budget can pay for its start-up and its next
stretch. No backfill: an idle worker continues a waiting trial instead.
"""
from __future__ import annotations

import numpy as np

from hpopt import budget
from hpopt.algorithms import gp_sampler, tpe
from hpopt.algorithms.base import Algorithm, NewTrial, Outcome, position
from hpopt.algorithms.promotion import promotable, promotion_bar, waiting_rung
from hpopt.plan import asha_trial_epochs, full_length
from hpopt.snapshot import Needs, Snapshot
from hpopt.status import Decision, TrialState
from hpopt.storage.base import TrialRecord


def rung_quota(recorded: int, eta: int) -> int:
    """How many of ``recorded`` scores at a rung may continue: the top 1/eta, at least one."""
    return max(1, recorded // eta)


def certain_epochs(at: int, iterations: int, milestones) -> int:
    """Epochs a trial at iteration ``at`` trains for sure: up to its next rung
    milestone below its end (where ASHA may stop it), or to its end."""
    return max(0, next((m for m in milestones if at < m < iterations), iterations) - at)


def stretches(at: int, iterations: int, milestones, eta: float) -> list[tuple[int, float]]:
    """Where a trial at iteration ``at`` may stop, as (epochs from ``at``, the
    chance it trains that far): its next rung for sure, then 1/eta less for
    each rung it must pass (Auto Config's model), its end last."""
    out, survive = [], 1.0
    for m in [*milestones, iterations]:
        if m > at:
            out.append((m - at, survive))
            survive /= eta
    return out


def continues(signed_score: float, others_signed, eta: int) -> bool:
    """True when ``signed_score`` ranks inside the rung's quota (higher is
    better); ``others_signed``: a sequence or numpy array. Ties rank in the
    trial's favour."""
    others = np.asarray(others_signed, dtype=float)
    rank = 1 + int(np.count_nonzero(others > signed_score))
    return rank <= rung_quota(len(others) + 1, eta)


def signed_others(recorded: tuple, trial_id: int, sign: float) -> np.ndarray:
    """``sign`` times the scores recorded at a rung (``recorded``: the arrays
    of trial ids and scores, hpopt.storage.base.Storage.rung_arrays), but
    ``trial_id``'s own."""
    ids, scores = recorded
    return sign * scores[ids != trial_id]


class ASHA(Algorithm):
    @property
    def pausing(self) -> bool:
        """Trials wait at rungs to be promoted (``promotion="pause"``)."""
        return self.settings.promotion == "pause"

    @property
    def backfills(self) -> bool:
        # pausing: an idle worker continues a waiting trial instead (hpopt.engine.next_sample)
        return self.settings.backfill and not self.pausing

    # -- handing out ------------------------------------------------------------------------
    def next_trial(self, snap: Snapshot, params: dict | None = None) -> NewTrial | None:
        if self.budgeted:
            return self._next_within_budget(snap, params)
        trials = snap.trials
        if len(trials) < self.plan.num_trials:
            return self._new(trials, self.plan.max_iterations, params)
        # the plan is handed out: backfill an idle worker while others drain
        iterations = self.backfill_iterations(trials) if self.backfills else 0
        return self._new(trials, iterations, params) if iterations >= 1 else None

    def _new(self, trials, iterations: int, params: dict | None = None) -> NewTrial | None:
        trial_id = len(trials)
        if params is None:
            suggest = gp_sampler.suggest if self.settings.sampler == "gp" else tpe.suggest
            params = suggest(self, trials, self.rng(trial_id))
        if params is None:
            self.space_exhausted = True
            return None
        return NewTrial(params=params, iterations=iterations, subset_ratio=self.plan.subset_ratio,
                        bracket=trial_id % self.plan.num_brackets)

    def _next_within_budget(self, snap: Snapshot, params: dict | None) -> NewTrial | None:
        trials = snap.trials
        led = budget.ledger(self, snap.spent, snap.open)
        expected_left = sum(self.expected_cost_left(t) for t in snap.open)
        reserve = self.promotion_reserve(snap.open)
        full = sum(n for iterations, n in snap.trial_lengths().items()
                   if full_length(iterations, self.plan.max_iterations))
        c, u = self.plan.epoch_cost(), self.plan.startup_epochs
        if "num_trials" in self.plan.auto or full < self.plan.num_trials:
            expected = u + self.fresh_trial_epochs(len(trials)) * c
            first = self.first_stretch_cost(len(trials))
            # with no trial open (but those waiting at a rung), nothing else can spend what is left:
            # one more trial whose first stretch fits is better than budget left unspent (its
            # promotions are paid for or stopped)
            idle = all(waiting_rung(t) is not None for t in snap.open)
            if self._fits(led, expected_left, expected, first + reserve) or \
                    (idle and self.idle_start_fits(snap.spent, len(trials))):
                return self._new(trials, self.plan.max_iterations, params)
        iterations = self.backfill_iterations(trials) if self.backfills else 0
        if iterations >= 1:
            cost = u + iterations * c
            if self._fits(led, expected_left, cost, cost + reserve):
                return self._new(trials, iterations, params)
        return None

    def first_stretch_cost(self, trial_id: int) -> float:
        """What a new trial is certain to spend: its start-up and its epochs to its first rung."""
        rungs = self.plan.brackets[trial_id % self.plan.num_brackets]
        return self.plan.startup_epochs + certain_epochs(0, self.plan.max_iterations, rungs) * self.plan.epoch_cost()

    def idle_start_fits(self, spent: float, created: int) -> bool:
        """With no trial open, whether the budget pays for one more new
        trial's first stretch (``_next_within_budget``'s rule for an idle
        study): a refusal while trials were open is then not the last word."""
        return budget.Ledger(self.plan.budget_compute, spent, 0.0).fits(self.first_stretch_cost(created))

    @staticmethod
    def _fits(led: budget.Ledger, expected_left: float, expected: float, certain: float) -> bool:
        """New work fits: what it is expected to spend (Auto Config's model)
        beside what the open trials are expected to spend still, and what it
        is certain to spend (with the reserve) in what the budget has left."""
        return led.budget - led.spent - expected_left >= expected - budget.SLACK * led.budget and led.fits(certain)

    def promotion_reserve(self, open_trials) -> float:
        """What the deepest open full-length trial (the one that passed the
        most rungs) needs beyond its next decision to train to the end: kept
        from new trials, so that the best candidate can finish to full length
        while the budget allows one."""
        deepest = max((t for t in open_trials if not self.is_backfill(t)), key=position, default=None)
        if deepest is None:
            return 0.0
        return (deepest.iterations - position(deepest) - self.certain_epochs(deepest)) * self.epoch_cost(deepest)

    # -- what a trial has left -----------------------------------------------------------------
    def milestones(self, trial: TrialRecord) -> list[int]:
        """The trial's rung milestones: its bracket's, below its own end (a
        backfill trial ends before the plan's max_iterations)."""
        return [m for m in self.plan.brackets[trial.bracket or 0] if m < trial.iterations]

    def certain_epochs(self, trial: TrialRecord) -> int:
        """Epochs a running or queued trial trains for sure from where it is:
        up to its next rung milestone (where ASHA may stop it), or to its end;
        none for a trial waiting at a rung: it may never be promoted."""
        if waiting_rung(trial) is not None:
            return 0
        return certain_epochs(position(trial), trial.iterations, self.milestones(trial))

    def certain_cost(self, trial: TrialRecord) -> float:
        return 0.0 if waiting_rung(trial) is not None else super().certain_cost(trial)

    def expected_epochs_left(self, trial: TrialRecord) -> float:
        """Epochs an unfinished trial is expected to train still, in Auto
        Config's model: a fraction 1/eta of the trials passes each rung (the
        stretch to its next rung is certain). Nothing for a trial waiting at
        a rung: it is promoted only when later arrivals at its rung raise the
        quota, in place of one of them, and the model counts that promotion
        with theirs (hpopt.plan.asha_trial_epochs)."""
        if waiting_rung(trial) is not None:
            return 0.0
        at = position(trial)
        left, survive, prev = 0.0, 1.0, at
        for m in self.milestones(trial) + [trial.iterations]:
            if m > at:
                left += survive * (m - prev)
                prev = m
                survive /= self.plan.reduction_factor
        return left

    def stretches(self, trial: TrialRecord) -> list[tuple[int, float]]:
        """Its next rung for sure, each later rung and its end with the chance
        Auto Config's model gives it (1/eta per rung passed, as
        ``expected_epochs_left``); nothing for a trial waiting at a rung."""
        if waiting_rung(trial) is not None:
            return []
        return stretches(position(trial), trial.iterations, self.milestones(trial), self.plan.reduction_factor)

    def fresh_stretches(self, trial_id: int) -> list[tuple[int, float]]:
        """A new trial's: from 0, in the bracket its id gives it (``_new``)."""
        rungs = self.plan.brackets[trial_id % self.plan.num_brackets]
        return stretches(0, self.plan.max_iterations, [m for m in rungs if m < self.plan.max_iterations],
                         self.plan.reduction_factor)

    def expected_cost_left(self, trial: TrialRecord) -> float:
        return 0.0 if waiting_rung(trial) is not None else super().expected_cost_left(trial)

    def fresh_trial_epochs(self, trial_id: int) -> float:
        """Epochs a new trial is expected to train in Auto Config's model."""
        rungs = self.plan.brackets[trial_id % self.plan.num_brackets]
        return asha_trial_epochs(rungs, self.plan.max_iterations, self.plan.reduction_factor)

    def budget_allowance(self) -> float:
        """Epochs the plan's model misses by construction: the first trial of
        each bracket always continues (nothing to rank it against), so it
        trains to the end instead of its expected share."""
        return sum(self.plan.max_iterations - self.fresh_trial_epochs(b) for b in range(self.plan.num_brackets))

    def budget_spent(self, snap: Snapshot) -> bool:
        """Without the hard budget, when Auto Config chose num_trials: True once
        the epochs trained, plus those the unfinished trials are expected to
        train, plus half a new trial's, reach the plan's expected epochs plus
        ``budget_allowance()`` (the engine then ends the plan at the trials it
        has). The plan assumes 1/eta of the trials pass each rung; a sampler
        that improves over time makes later trials outrank earlier ones, so
        more pass (benchmarks/RESULTS.md, part 5, measures how much). The
        allowance keeps a small study from being cut to one trial because
        its very first trial trained to the end. A num_trials the user fixed
        is kept. (Under the hard budget the budget itself decides.)"""
        if "num_trials" not in self.plan.auto or self.budgeted:
            return False
        trials = snap.trials
        spent = sum(t.last_iteration for t in trials if t.state is not TrialState.QUEUED)
        ahead = sum(self.expected_epochs_left(t) for t in trials
                    if t.state.is_active() or t.state is TrialState.PAUSED)
        limit = self.plan.expected_epochs + self.budget_allowance()
        return spent + ahead + self.fresh_trial_epochs(len(trials)) / 2 >= limit

    # -- backfill ------------------------------------------------------------------------------
    def is_backfill(self, trial: TrialRecord) -> bool:
        """Backfill trials train fewer iterations than the plan's max_iterations."""
        return not full_length(trial.iterations, self.plan.max_iterations)

    def backfill_iterations(self, trials) -> int:
        """The budget of a backfill trial: the most whole epochs a full-length
        trial is certain to start still, so that a new trial at the same speed
        per epoch ends before it: for a running trial its certain epochs less
        the one in progress, for a queued one all of them. 0 when no
        full-length trial has that much left: nothing to hand out.

        Backfill trials never set the bound: a trial handed 1 epoch stays
        "certain to train 1 epoch" until it reports, so counting them would
        let short trials prolong each other without end."""
        return max((self.certain_epochs(t) - (t.state is TrialState.RUNNING)
                    for t in trials if t.state.is_active() and not self.is_backfill(t)), default=0)

    # -- reports -------------------------------------------------------------------------------
    def _new_milestones(self, trial: TrialRecord, iteration: int) -> list[int]:
        """Rungs this report reaches that the trial has no decision at yet (a
        re-run passes its rungs again, decided before)."""
        return [m for m in self.milestones(trial) if m <= iteration and m not in trial.rungs]

    def report_needs(self, trial: TrialRecord, iteration: int) -> Needs:
        if iteration >= trial.iterations:
            return Needs()
        reached = self._new_milestones(trial, iteration)
        # every bracket's scores at the milestone: a bracket's first arrivals rank against them
        return Needs(trials=self.is_backfill(trial),
                     rungs=tuple((b, m) for m in reached for b in self._brackets_of(trial)),
                     budget=bool(reached) and self.budgeted)

    def on_report(self, snap: Snapshot, trial: TrialRecord, iteration: int) -> Outcome:
        outcome = self._rung_decision(snap, trial, iteration)
        if (outcome.decision is Decision.CONTINUE and self.is_backfill(trial)
                # newest first: the last full-length trials are the ones still running
                and all(t.state.is_finished() for t in reversed(snap.trials) if not self.is_backfill(t))):
            # the full-length trials are done, so is the study: a backfill
            # trial with slower epochs than theirs does not hold it up
            return Outcome(Decision.STOP, outcome.rungs, "the study's full-length trials are done")
        return outcome

    def _rung_decision(self, snap: Snapshot, trial: TrialRecord, iteration: int) -> Outcome:
        if iteration >= trial.iterations:
            return Outcome(Decision.COMPLETE)
        reached = self._new_milestones(trial, iteration)
        if not reached:
            return Outcome(Decision.CONTINUE)
        rungs = dict(trial.rungs)
        score = trial.last_score
        eta = self.plan.reduction_factor
        for milestone in reached:
            rungs[milestone] = score
            others = self._rung_peers(snap, trial, milestone)
            if self.pausing:
                # ranked in the quota on arrival: the promotion the next request would make
                if not promotable(self.sign * score, others, eta):
                    return Outcome(Decision.PAUSE, rungs, f"waiting at rung {milestone} to be promoted")
            elif not continues(self.sign * score, others, eta):
                return Outcome(Decision.STOP, rungs, f"below the top 1/{eta} at rung {milestone}")
        if self.budgeted:
            ahead = certain_epochs(iteration, trial.iterations, self.milestones(trial))
            if not budget.ledger_at_report(self, snap, trial).fits(ahead * self.epoch_cost(trial)):
                if self.pausing:
                    return Outcome(Decision.PAUSE, rungs, f"waiting at rung {max(reached)} to be promoted: "
                                                          f"no room for its next {ahead} epochs now")
                return Outcome(Decision.STOP, rungs, f"budget reached at rung {max(reached)}: "
                                                     f"no room for its next {ahead} epochs")
        return Outcome(Decision.CONTINUE, rungs)

    # -- promotion (promotion="pause") ---------------------------------------------------------
    def promotion_rungs(self, open_trials) -> tuple:
        """The rungs, (bracket, milestone), whose scores ``promotion`` reads:
        every bracket's at the milestones the waiting trials wait at (a
        bracket's first arrivals rank against all of them)."""
        if not self.pausing:
            return ()
        milestones = sorted({m for t in open_trials if (m := waiting_rung(t)) is not None})
        return tuple((b, m) for m in milestones for b in range(self.plan.num_brackets))

    def promotion(self, snap: Snapshot, relaxed: bool = False) -> TrialRecord | None:
        """The waiting trial to promote now, or None: of those that rank in
        their rung's quota (hpopt.algorithms.promotion; ``relaxed``: at
        least one per rung), the one at the highest rung, best score first,
        whose start-up and next stretch the budget can pay for. ``snap``:
        every trial, and the rungs of ``promotion_rungs``."""
        if not self.pausing:
            return None
        bars, ranked = {}, []
        for t in snap.open:
            m = waiting_rung(t)
            if m is None:
                continue
            if (t.bracket, m) not in bars:
                bars[t.bracket, m] = promotion_bar(self._rung_pool(snap, t.bracket, m),
                                                   self.plan.reduction_factor, relaxed)
            bar, signed = bars[t.bracket, m], self.sign * t.rungs[m]
            if bar is not None and signed >= bar:
                ranked.append((-m, -signed, t.trial_id, t))
        led = budget.ledger(self, snap.spent, snap.open) if self.budgeted and ranked else None
        for *_, t in sorted(ranked, key=lambda r: r[:3]):
            ahead = certain_epochs(position(t), t.iterations, self.milestones(t))
            if led is None or led.fits(self.plan.startup_epochs + ahead * self.epoch_cost(t)):
                return t
        return None

    def _rung_peers(self, snap: Snapshot, trial: TrialRecord, milestone: int) -> np.ndarray:
        """``sign`` times the scores the trial ranks against at ``milestone``:
        its bracket's, or, while fewer than ``eta`` are recorded there with its
        own, every bracket's at that epoch."""
        own = signed_others(snap.rungs[(trial.bracket, milestone)], trial.trial_id, self.sign)
        if self.plan.num_brackets == 1 or len(own) + 1 >= self.plan.reduction_factor:
            return own
        return np.concatenate([signed_others(snap.rungs[(b, milestone)], trial.trial_id, self.sign)
                               for b in self._brackets_of(trial)])

    def _rung_pool(self, snap: Snapshot, bracket: int, milestone: int) -> np.ndarray:
        """``sign`` times every score a trial of ``bracket`` ranks among at
        ``milestone``, its own included (``_rung_peers``' rule)."""
        own = self.sign * snap.rungs[(bracket, milestone)][1]
        if self.plan.num_brackets == 1 or len(own) >= self.plan.reduction_factor:
            return own
        return np.concatenate([self.sign * snap.rungs[(b, milestone)][1] for b in range(self.plan.num_brackets)])

    def _brackets_of(self, trial: TrialRecord) -> list:
        """The trial's bracket first, then the study's others (rung keys)."""
        return list(dict.fromkeys([trial.bracket, *range(self.plan.num_brackets)]))

    def config_extra(self, trial: TrialRecord) -> dict:
        return {"bracket": trial.bracket, "rungs": self.milestones(trial)}
