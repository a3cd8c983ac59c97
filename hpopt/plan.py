"""Auto Config: turn a time budget into concrete HPO settings.

Cost model
----------
* Budget ``B = expected_time_ratio - 1`` full trainings, where one full training is
  ``num_full_iterations`` (N) epochs on the full dataset.
* One epoch on a subset of ratio ``s`` costs ``c(s) = (1 - p) * s + p`` full epochs,
  ``p = non_pure_train_ratio`` (the fixed part of an epoch: validation, setup...).
* Each trial also costs ``u = startup_epochs`` full epochs before its first epoch
  (process start, data loading, model build; 0 unless given).
* Planned cost (full trainings) is the study's wall time, ``wall_epochs * c(s) / N``:
* ``bayes_opt``: ``expected_epochs = num_trials * max_iterations``; every trial trains
  ``max_iterations`` epochs, so the trials run in ``ceil(num_trials / num_workers)``
  rounds: ``wall_epochs = ceil(num_trials / num_workers) * max_iterations`` (a last,
  partial round takes as long as a full one), and each round pays one start-up.
* ``asha``: trial ``i`` runs in bracket ``i % num_brackets``; one trial of a bracket with
  milestones ``m_0 < ... < m_K`` (rungs + [max_iterations]) is expected to train
  ``m_0 + sum_j eta**-j * (m_j - m_{j-1})`` epochs (a fraction 1/eta survives each rung).
  Trials of any length follow each other on a worker without waiting, so workers divide
  the epochs and the start-ups: ``wall_epochs = expected_epochs / min(num_workers, num_trials)``.
* Planned cost (full trainings) = ``(wall_epochs * c(s) + wall start-ups * u) / N``; the
  compute it stands for is ``Plan.expected_compute`` (full epochs, all workers together),
  and ``Plan.budget_compute`` is the compute the budget buys under the same parallelism.

Invariants of :func:`plan`
--------------------------
* A value the user set is never overridden, except ``subset_ratio``: raised to
  ``s_min = min(1, min_subset_size / full_dataset_size)`` (with a warning) and capped at 1.
* ``subset_ratio >= s_min`` always, i.e. the subset holds >= ``min_subset_size`` samples
  or is the whole dataset.
* Automatic ``max_iterations <= num_full_iterations``; automatic ``num_trials`` never
  drops below ``min(num_workers, start trials)`` (idle workers would buy nothing; ASHA
  with several brackets may go to 1, as fewer trials can mean a cheaper bracket mix).
* Automatic ``num_trials`` exceeds 200 only with epochs and subset maxed (or fixed), or
  when no plan within 200 trials lands within 10% of the budget.
* ``plan.warnings`` is empty  =>  ``|cost / budget - 1| <= 0.10``. A plan that cannot land
  in that window (fixed values, or integer steps too coarse) is still returned, as close
  as possible, with a warning stating cost, budget and ratio. plan() never calls
  ``warnings.warn``: it backs a live preview and is called constantly.
* Pure and deterministic; only the standard library; well under 5 ms.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

from hpopt.errors import FieldError
from hpopt.fields import ALGORITHMS, ALIASES, DEFAULTS, RULES, canonical_algorithm, is_finite_number

__all__ = ["plan", "Plan", "epoch_cost", "asha_rungs", "asha_trial_epochs", "auto_brackets", "max_brackets",
           "canonical_algorithm", "is_finite_number", "ALGORITHMS", "ALIASES"]

TOLERANCE = 0.10        # the planned cost must land within +-10% of the budget
_AIM = 0.02             # polishing prefers the simplest candidate this close
START_SUBSET = 0.2      # starting point of the original library
START_ITERATIONS = 2
BO_START_TRIALS = 10
BO_MIN_TRIALS = 5       # preferred floor for BO; dropped only when the budget forces it
TRIAL_CAP = 200         # BO: GP cost grows with trials, so past this only with epochs/subset maxed
ASHA_START_TRIALS = 10
ASHA_MIN_TRIALS_CAP = 32  # eta**rungs trials lets one trial reach the top; capped for huge ladders


def epoch_cost(subset_ratio: float, non_pure_train_ratio: float) -> float:
    """Cost of one epoch on a subset, in full-dataset epochs: ``(1-p)*s + p``."""
    return (1.0 - non_pure_train_ratio) * subset_ratio + non_pure_train_ratio


def full_length(iterations: int, max_iterations: int) -> bool:
    """A trial handed the plan's ``max_iterations`` (or more): one that trains
    to the study's full length when nothing stops it. ASHA's backfill trials
    get fewer epochs (hpopt.algorithms.asha); their scores are low-fidelity."""
    return iterations >= max_iterations


def asha_rungs(min_iterations: int, max_iterations: int, reduction_factor: int,
               bracket: int = 0) -> list[int]:
    """Milestones ``min * eta**(k + bracket)``, k = 0, 1, ..., strictly below max."""
    if reduction_factor < 2 or min_iterations < 1 or bracket < 0:
        raise ValueError("asha_rungs needs reduction_factor >= 2, min_iterations >= 1, "
                         "bracket >= 0")
    rungs: list[int] = []
    m = min_iterations * reduction_factor ** bracket
    while m < max_iterations:
        if not rungs or int(m) != rungs[-1]:
            rungs.append(int(m))
        m *= reduction_factor
    return rungs


def auto_brackets(budget: float, num_workers: int, most: int) -> int:
    """ASHA's brackets when the user sets none: as many as the budget holds by
    Hyperband's accounting, at most ``most``. Each of Hyperband's brackets
    costs about as many full trainings as there are brackets (bracket s runs
    ``(s_max + 1) / (s + 1) * eta**s`` trials through s + 1 rungs), so a budget
    of ``budget`` full trainings of wall time on ``num_workers`` workers holds
    ``budget * num_workers / most`` of them. A small budget keeps one bracket:
    each bracket's trials start over at low fidelity, and the staggered ones
    (a longer first look for late bloomers) pay off only when the budget can
    afford several trials in each (benchmarks/RESULTS.md, "Issue 12")."""
    return max(1, min(most, int(budget * num_workers // most)))


def max_brackets(min_iterations, max_iterations, reduction_factor) -> int:
    """Number of distinct brackets: rungs of bracket 0 plus one (the rung-less bracket).

    Equals ``floor(log_eta(max/min)) + 1`` when max/min is a power of eta; otherwise the
    last bracket (no rungs, every trial trains to max_iterations) is one more. Counting
    rungs with integers avoids float log rounding (log(27)/log(3) is not exactly 3).
    """
    return len(asha_rungs(min_iterations, max_iterations, reduction_factor, 0)) + 1


def asha_trial_epochs(rungs: list[int], max_iterations: int, reduction_factor: int) -> float:
    """Expected epochs of one trial: ``m_0 + sum_j eta**-j * (m_j - m_{j-1})``."""
    ms = list(rungs) + [max_iterations]
    total, survive = float(ms[0]), 1.0
    for prev, cur in zip(ms, ms[1:]):
        survive /= reduction_factor
        total += survive * (cur - prev)
    return total


@dataclass(frozen=True)
class Plan:
    """A concrete HPO configuration and its planned cost (see module docstring)."""
    search_alg: str
    num_trials: int
    max_iterations: int
    subset_ratio: float
    min_iterations: int
    reduction_factor: int
    num_brackets: int
    brackets: tuple
    num_workers: int
    num_full_iterations: int
    full_dataset_size: int
    non_pure_train_ratio: float
    budget: float
    expected_epochs: float
    cost: float
    auto: tuple
    warnings: tuple
    #: a trial's start-up, in full-epoch equivalents
    startup_epochs: float = 0.0

    @property
    def budget_used(self) -> float:
        return self.cost / self.budget

    @property
    def parallel(self) -> float:
        """How many trials run side by side in the cost model: bayes_opt's
        rounds of num_workers trials, ASHA's workers taking trial after trial."""
        if self.search_alg == "bayes_opt":
            return self.num_trials / math.ceil(self.num_trials / self.num_workers)
        return float(min(self.num_workers, self.num_trials))

    def epoch_cost(self, subset_ratio: float | None = None) -> float:
        """Full-epoch equivalents of one epoch on ``subset_ratio`` (default: the plan's)."""
        return epoch_cost(self.subset_ratio if subset_ratio is None else subset_ratio, self.non_pure_train_ratio)

    @property
    def expected_compute(self) -> float:
        """Full-epoch equivalents the plan expects to spend, all workers together."""
        return self.num_trials * self.startup_epochs + self.expected_epochs * self.epoch_cost()

    @property
    def budget_compute(self) -> float:
        """Full-epoch equivalents of compute the budget buys, all workers
        together: what a study may spend at most under a hard budget."""
        return self.budget * self.num_full_iterations * self.parallel

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["brackets"] = [list(b) for b in self.brackets]
        d["auto"], d["warnings"] = list(self.auto), list(self.warnings)
        d["budget_used"] = self.budget_used
        return d

    def wall_seconds(self, seconds_per_full_epoch: float) -> float:
        return self.cost * self.num_full_iterations * seconds_per_full_epoch

    def trial_cost_epochs(self) -> float:
        """Expected full-epoch equivalents per trial, its start-up included (ignores parallelism)."""
        return self.expected_compute / self.num_trials


def _geo(a, b, t, integer):
    """Geometric interpolation a -> b: equal *relative* progress for every knob."""
    if a == b or t <= 0.0:
        return a
    if t >= 1.0:
        return b
    x = a * (b / a) ** t
    return round(x) if integer else x


D = DEFAULTS


def plan(search_alg, full_dataset_size, num_full_iterations, *, expected_time_ratio=D["expected_time_ratio"],
         non_pure_train_ratio=D["non_pure_train_ratio"], num_workers=D["num_workers"], num_trials=None,
         max_iterations=None, subset_ratio=None, min_subset_size=D["min_subset_size"], min_iterations=None,
         reduction_factor=D["reduction_factor"], num_brackets=None, startup_epochs=D["startup_epochs"]) -> Plan:
    """Fill in the unset num_trials / max_iterations / subset_ratio to spend the budget.

    Free values move along one monotone path of anchor points (T trials, I epochs, s subset;
    set values stay constant), each segment interpolated geometrically (equal relative
    progress, like the original's "grow whichever is furthest behind"). Cost is
    non-decreasing along the path, so bisection finds where it crosses the budget; the
    integer step met there is then polished by an exact solve of s (continuous), else of
    T, else of I, keeping the closest candidate (the simplest one if within 2%).

    * bayes_opt: ``(T1, 1, s_min) -> (max(5, T1), 1, s_min) -> (T0, min(2, N), s0)
      -> (200, N, 1) -> (many, N, 1)``: trials pass 200 only once epochs and subset are
      maxed (GP cost grows with trials), or when nothing within 200 lands within 10%.
    * asha: ``max_iterations = N`` unless set (stop-based: any trial may reach the full
      length, so the budget buys trials and subset), subset shrinks before trials:
      ``(T1, s_min) -> (Tm, s_min) -> (T0, s_min) -> (T0, s0) -> (200, 1) -> (many, 1)``
      with ``Tm = max(num_brackets, min(eta**rungs_of_bracket_0, 32))``.

    ``s0 = max(0.2, s_min)``; ``T0 = max(10, Tm, min(W, 200))`` and ``T1 = min(W, T0)``
    (1 for ASHA with several brackets): trials that fit on idle workers cost no wall time.
    For bayes_opt, min_iterations and num_brackets are type-checked and otherwise ignored.
    Every argument is checked against its rule (hpopt.fields); a broken rule raises
    FieldError (a ValueError) naming the argument.
    """
    args = {name: RULES[name].check(name, value) for name, value in dict(
        search_alg=search_alg, full_dataset_size=full_dataset_size, num_full_iterations=num_full_iterations,
        expected_time_ratio=expected_time_ratio, non_pure_train_ratio=non_pure_train_ratio,
        num_workers=num_workers, num_trials=num_trials, max_iterations=max_iterations,
        subset_ratio=subset_ratio, min_subset_size=min_subset_size, min_iterations=min_iterations,
        reduction_factor=reduction_factor, num_brackets=num_brackets, startup_epochs=startup_epochs).items()}
    return _Planner(**args).result()


class _Planner:
    """The search of :func:`plan`, one step per method (see plan's docstring)."""

    def __init__(self, *, search_alg, full_dataset_size, num_full_iterations, expected_time_ratio,
                 non_pure_train_ratio, num_workers, num_trials, max_iterations, subset_ratio,
                 min_subset_size, min_iterations, reduction_factor, num_brackets, startup_epochs):
        self.alg, self.n_data, self.n_full = search_alg, full_dataset_size, num_full_iterations
        self.ratio, self.p, self.workers = expected_time_ratio, non_pure_train_ratio, num_workers
        self.min_subset, self.eta, self.u = min_subset_size, reduction_factor, startup_epochs
        self.user_t, self.user_i = num_trials, max_iterations
        self.user_s = None if subset_ratio is None else min(1.0, subset_ratio)
        self.min_it = 1 if min_iterations is None else min_iterations
        self.user_nb = num_brackets
        self.budget = self.ratio - 1.0
        self.s_min = min(1.0, self.min_subset / self.n_data)
        self.notes = []
        if self.user_s is not None and self.user_s < self.s_min:
            self.notes.append(f"subset_ratio {self.user_s:g} holds fewer than min_subset_size={self.min_subset} "
                              f"of {self.n_data} samples; raised to {self.s_min:.6g}")
            self.user_s = self.s_min
        self._shape()
        self._anchors()

    def _shape(self) -> None:
        """The algorithm's brackets, epochs per trial, and trial counts to start from."""
        self.s_start = max(START_SUBSET, self.s_min)
        if self.alg == "bayes_opt":
            self.min_it, self.nb, self.brackets, self.bracket_epochs = 1, 1, (), None
            t_pref, t_start = BO_MIN_TRIALS, BO_START_TRIALS
            self.i_start, self.i_end = min(START_ITERATIONS, self.n_full), self.n_full
        else:
            self.i_start = self.i_end = self.n_full if self.user_i is None else self.user_i
            if self.min_it > self.i_end:
                raise FieldError("min_iterations", f"min_iterations ({self.min_it}) must be <= max_iterations "
                                                   f"({self.i_end})")
            nb_max = max_brackets(self.min_it, self.i_end, self.eta)
            self.nb = auto_brackets(self.budget, self.workers, nb_max) if self.user_nb is None else self.user_nb
            if self.nb > nb_max:
                raise FieldError("num_brackets", f"num_brackets must be between 1 and {nb_max} (rungs of bracket 0 "
                                                 f"plus one), got {self.nb}")
            self.brackets = tuple(tuple(asha_rungs(self.min_it, self.i_end, self.eta, b)) for b in range(self.nb))
            self.bracket_epochs = [asha_trial_epochs(r, self.i_end, self.eta) for r in self.brackets]
            self.prefix = [0.0]
            for e in self.bracket_epochs:
                self.prefix.append(self.prefix[-1] + e)
            t_pref = max(self.nb, min(ASHA_MIN_TRIALS_CAP, self.eta ** min(len(self.brackets[0]), 6)))
            t_start = max(ASHA_START_TRIALS, t_pref)
        # Trials up to num_workers run side by side and cost no extra wall time (with one
        # bracket; with several, fewer trials may mean a cheaper bracket mix, so allow 1).
        self.t_start = max(t_start, min(self.workers, TRIAL_CAP))
        self.t_abs = 1 if self.nb > 1 else min(self.workers, self.t_start)
        self.t_pref = max(t_pref, self.t_abs)

    # -- the cost model ------------------------------------------------------------------
    def total_epochs(self, t, i):
        if self.bracket_epochs is None:
            return t * i
        q, r = divmod(t, self.nb)   # round robin: trial k runs in bracket k % nb
        return q * self.prefix[-1] + self.prefix[r]

    def wall_epochs(self, t, i):
        """Epochs of wall time (see the module docstring): bayes_opt runs in rounds."""
        if self.bracket_epochs is None:
            return math.ceil(t / self.workers) * i
        return self.total_epochs(t, i) / min(self.workers, t)

    def startup_wall(self, t):
        """Full epochs of wall time that start-ups take: one per round for
        bayes_opt, a share of every trial's for ASHA."""
        if self.bracket_epochs is None:
            return math.ceil(t / self.workers) * self.u
        return t * self.u / min(self.workers, t)

    def cost_of(self, t, i, s):
        return (self.wall_epochs(t, i) * epoch_cost(s, self.p) + self.startup_wall(t)) / self.n_full

    # -- the path ------------------------------------------------------------------------
    def _anchors(self) -> None:
        if self.alg == "bayes_opt":
            anchors = [(self.t_abs, 1, self.s_min), (self.t_pref, 1, self.s_min),
                       (self.t_start, self.i_start, self.s_start), (TRIAL_CAP, self.i_end, 1.0)]
        else:
            i = self.i_end
            anchors = [(self.t_abs, i, self.s_min), (self.t_pref, i, self.s_min), (self.t_start, i, self.s_min),
                       (self.t_start, i, self.s_start), (TRIAL_CAP, i, 1.0)]
        anchors = [(t if self.user_t is None else self.user_t, i if self.user_i is None else self.user_i,
                    s if self.user_s is None else self.user_s) for t, i, s in anchors]
        self.t_end, self.i_last, self.s_last = anchors[-1]
        if self.user_t is None:
            # Last segment: trials alone, far enough that its end surely exceeds the budget.
            e_min = self.i_last if self.bracket_epochs is None else min(self.bracket_epochs)
            t_big = math.ceil(2 * self.budget * self.n_full * self.workers
                              / (e_min * epoch_cost(self.s_last, self.p) + self.u)) + 1
            anchors.append((max(self.t_end, self.workers, t_big), self.i_last, self.s_last))
        self.anchors, self.last = anchors, len(anchors) - 1

    def at(self, lam):
        k = min(int(lam), self.last - 1)
        (t0, i0, s0), (t1, i1, s1) = self.anchors[k], self.anchors[k + 1]
        u = lam - k
        return _geo(t0, t1, u, True), _geo(i0, i1, u, True), _geo(s0, s1, u, False)

    def bases(self) -> list:
        """The path's points around where its cost crosses the budget (bisection)."""
        lo, hi = 0.0, float(self.last)
        if self.cost_of(*self.at(lo)) > self.budget:
            return [self.at(lo)]
        if self.cost_of(*self.at(hi)) <= self.budget:
            return [self.at(hi)]
        for _ in range(64):   # cost is non-decreasing in lam
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            if self.cost_of(*self.at(mid)) <= self.budget:
                lo = mid
            else:
                hi = mid
        return [self.at(lo), self.at(hi)]

    # -- polishing the integer step --------------------------------------------------------
    def grown(self, t):   # BO: automatic trials past the cap only with epochs and subset maxed
        return self.user_t is None and t > self.t_end

    def solve_s(self, t, i, s):
        if self.user_s is not None or self.grown(t):
            return s
        c = (self.budget * self.n_full - self.startup_wall(t)) / self.wall_epochs(t, i)
        return min(1.0, max(self.s_min, (c - self.p) / (1.0 - self.p)))

    def solve_t(self, t, i, s, capped=True):
        if self.user_t is not None:
            return
        per = i if self.bracket_epochs is None else self.prefix[-1] / self.nb
        x = self.budget * self.n_full * self.workers / (per * epoch_cost(s, self.p) + self.u)
        if not capped and x <= self.t_end:   # the cap is not in the way: nothing new
            return
        maxed = i >= self.i_last and s >= self.s_last
        hi_t = self.anchors[-1][0] if maxed else self.t_end if capped else math.ceil(x) + 1
        ks = list(range(math.floor(x) - 1, math.ceil(x) + 2))
        if self.bracket_epochs is None:
            # bayes_opt runs in rounds of W trials: a full last round costs no more
            # than a partial one
            ks += [self.workers * max(1, math.floor(x / self.workers)), self.workers * math.ceil(x / self.workers)]
        # Up to W trials the round-robin bracket mix, not the count, sets the cost (it
        # is not monotone there): scan them if such a plan could be cheap enough.
        dearest_mix = (max(self.bracket_epochs or [0]) * epoch_cost(self.s_last, self.p) + self.u) / self.n_full
        if capped and self.nb > 1 and self.budget * (1 - TOLERANCE) <= dearest_mix:
            ks += range(self.t_abs, min(self.workers, hi_t, self.t_abs + 256) + 1)
        for k in ks:
            k = min(max(k, self.t_abs), hi_t)
            yield k, i, (s if self.grown(k) else self.solve_s(k, i, s))

    def solve_i(self, t, i, s):
        if self.user_i is not None or self.alg != "bayes_opt" or self.grown(t):
            return
        # epochs trade against rounds of W trials: also try one round fewer, full
        rounds = math.ceil(t / self.workers)
        ts = [t] if self.user_t is not None else [t] + [min(self.workers * r, self.t_end)
                                                          for r in {max(1, rounds - 1), rounds}]
        for t in dict.fromkeys(ts):
            x = (self.budget * self.n_full / math.ceil(t / self.workers) - self.u) / epoch_cost(s, self.p)
            for k in {min(max(math.floor(x), 1), self.i_end), min(max(math.ceil(x), 1), self.i_end)}:
                yield t, k, self.solve_s(t, k, s)
                yield from self.solve_t(t, k, self.solve_s(t, k, s))

    def solve_i_scan(self, t, i, s):
        """bayes_opt: rounds of W trials are coarse, and a budget of 5 rounds of
        1 epoch is missed by the rounds next to the path's point; when nothing
        so far lands within 10%, every epoch count gets its trial count (at the
        path's subset and at the last one)."""
        if self.user_i is not None or self.alg != "bayes_opt" or self.grown(t):
            return
        for k in self._epoch_counts():
            for s_k in dict.fromkeys((s, s if self.user_s is not None else self.s_last)):
                yield from self.solve_t(t, k, s_k)

    def _epoch_counts(self):
        return range(1, self.i_end + 1) if self.i_end <= 64 else sorted(
            {max(1, round(self.i_end ** (j / 63))) for j in range(64)})

    def solve_i_uncapped(self, t, i, s):
        """bayes_opt: fewer epochs buy more trials past the cap. Rounds of W
        trials make some budgets unreachable at the path's epochs; this stage
        finds the plans the cap's exception is for (no plan within the cap
        lands within 10%)."""
        if self.user_i is not None or self.alg != "bayes_opt":
            return
        for k in self._epoch_counts():
            yield from self.solve_t(t, k, s if self.user_s is not None else self.s_last, capped=False)

    def choose(self) -> tuple:
        """The candidate plan: one within 10% of the budget and not over it
        if there is one (a hard budget would cut a plan over it short;
        hpopt.budget), then within 2% the simplest stage wins (least
        distortion of the path); otherwise the closest; exact ties go under
        budget (the user's time first). The trial cap gives way only if
        nothing capped lands within 10%."""
        stages = (lambda *b: [b, b[:2] + (self.solve_s(*b),)], self.solve_t, self.solve_i, self.solve_i_scan,
                  lambda *b: self.solve_t(*b, capped=False), self.solve_i_uncapped)
        best, seen, bases = None, set(), self.bases()
        for stage, make in enumerate(stages):
            if make == self.solve_i_scan and best is not None and not best[0][0]:
                continue  # a plan within 10% exists: no need to scan every epoch count
            if make == self.solve_i_uncapped and best is not None and not best[0][0]:
                break  # a plan within 10% exists: the cap stays
            for base in bases:
                for cand in make(*base):
                    if cand in seen:
                        continue
                    seen.add(cand)
                    cost = self.cost_of(*cand)
                    err = abs(cost / self.budget - 1.0)
                    band = 0 if err <= _AIM else 1 if err <= TOLERANCE else 2
                    over_cap = self.grown(cand[0]) and (cand[1] < self.i_last or cand[2] < self.s_last)
                    over = cost > self.budget * (1 + 1e-12)
                    key = (band == 2, over_cap, over, band, stage if band == 0 else 0, round(err, 12))
                    if best is None or key < best[0]:
                        best = (key, cand)
        return best[1]

    def _warning(self, cost: float, auto: tuple) -> str:
        used = cost / self.budget
        head = (f"planned cost {cost:.4g} full trainings is {used:.0%} of the budget {self.budget:.4g} "
                f"(expected_time_ratio {self.ratio:.6g} - 1; budget_used {used:.3g})")
        if cost > self.budget and self.cost_of(*self.at(0.0)) > self.budget * (1 + TOLERANCE):
            why = ("over budget even with the smallest plan the fixed values allow" if auto
                   else "over budget with every value fixed")
            why += "; raise expected_time_ratio or fix smaller values"
        elif cost < self.budget and self.cost_of(*self.at(float(self.last))) < self.budget * (1 - TOLERANCE):
            why = "the budget is not used: " + ("the free values are already at their maximum"
                                               if auto else "every value is fixed")
        else:
            why = "integer steps of the free values are too coarse to land within 10%; closest plan shown"
        return f"{head}: {why}"

    def result(self) -> Plan:
        t, i, s = self.choose()
        cost = self.cost_of(t, i, s)
        auto = tuple(n for n, v in (("num_trials", self.user_t), ("max_iterations", self.user_i),
                                    ("subset_ratio", self.user_s)) if v is None)
        if abs(cost / self.budget - 1.0) > TOLERANCE:
            self.notes.append(self._warning(cost, auto))
        return Plan(search_alg=self.alg, num_trials=t, max_iterations=i, subset_ratio=float(s),
                    min_iterations=self.min_it, reduction_factor=self.eta, num_brackets=self.nb,
                    brackets=self.brackets, num_workers=self.workers, num_full_iterations=self.n_full,
                    full_dataset_size=self.n_data, non_pure_train_ratio=self.p, budget=self.budget,
                    expected_epochs=float(self.total_epochs(t, i)), cost=cost, auto=auto,
                    warnings=tuple(self.notes), startup_epochs=float(self.u))
