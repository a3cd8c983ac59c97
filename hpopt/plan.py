"""Auto Config: turn a time budget into concrete HPO settings.

Cost model
----------
* Budget ``B = expected_time_ratio - 1`` full trainings, where one full training is
  ``num_full_iterations`` (N) epochs on the full dataset.
* One epoch on a subset of ratio ``s`` costs ``c(s) = (1 - p) * s + p`` full epochs,
  ``p = non_pure_train_ratio`` (the fixed part of an epoch: validation, setup...).
* Planned cost (full trainings) is the study's wall time, ``wall_epochs * c(s) / N``:
* ``bayes_opt``: ``expected_epochs = num_trials * max_iterations``; every trial trains
  ``max_iterations`` epochs, so the trials run in ``ceil(num_trials / num_workers)``
  rounds: ``wall_epochs = ceil(num_trials / num_workers) * max_iterations`` (a last,
  partial round takes as long as a full one).
* ``asha``: trial ``i`` runs in bracket ``i % num_brackets``; one trial of a bracket with
  milestones ``m_0 < ... < m_K`` (rungs + [max_iterations]) is expected to train
  ``m_0 + sum_j eta**-j * (m_j - m_{j-1})`` epochs (a fraction 1/eta survives each rung).
  Trials of any length follow each other on a worker without waiting, so workers divide
  the epochs: ``wall_epochs = expected_epochs / min(num_workers, num_trials)``.

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
import numbers
import reprlib
import sys
from dataclasses import dataclass, fields

ALGORITHMS = ("bayes_opt", "asha")
ALIASES = {"baye_opt": "bayes_opt", "bayes_opt": "bayes_opt", "smbo": "bayes_opt", "asha": "asha"}

TOLERANCE = 0.10        # the planned cost must land within +-10% of the budget
_AIM = 0.02             # polishing prefers the simplest candidate this close
START_SUBSET = 0.2      # starting point of the original library
START_ITERATIONS = 2
BO_START_TRIALS = 10
BO_MIN_TRIALS = 5       # preferred floor for BO; dropped only when the budget forces it
TRIAL_CAP = 200         # BO: GP cost grows with trials, so past this only with epochs/subset maxed
ASHA_START_TRIALS = 10
ASHA_MIN_TRIALS_CAP = 32  # eta**rungs trials lets one trial reach the top; capped for huge ladders
MAX_TIME_RATIO = 1e6    # beyond this trial counts stop fitting in a float (and mean nothing)


def canonical_algorithm(name) -> str:
    """Map ``name`` (case/whitespace-insensitive) through ALIASES; ValueError otherwise."""
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in ALIASES:
        valid = ", ".join(repr(a) for a in ALIASES)
        raise ValueError(f"search_alg must be one of {valid}; got {name!r}")
    return ALIASES[key]


def epoch_cost(subset_ratio: float, non_pure_train_ratio: float) -> float:
    """Cost of one epoch on a subset, in full-dataset epochs: ``(1-p)*s + p``."""
    return (1.0 - non_pure_train_ratio) * subset_ratio + non_pure_train_ratio


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

    @property
    def budget_used(self) -> float:
        return self.cost / self.budget

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["brackets"] = [list(b) for b in self.brackets]
        d["auto"], d["warnings"] = list(self.auto), list(self.warnings)
        d["budget_used"] = self.budget_used
        return d

    def wall_seconds(self, seconds_per_full_epoch: float) -> float:
        return self.cost * self.num_full_iterations * seconds_per_full_epoch

    def trial_cost_epochs(self) -> float:
        """Expected full-epoch equivalents per trial (ignores parallelism)."""
        c = epoch_cost(self.subset_ratio, self.non_pure_train_ratio)
        return self.expected_epochs * c / self.num_trials


#: counts above this lose precision as floats (and mean nothing as trials or epochs)
MAX_COUNT = 2**53


def is_finite_number(value) -> bool:
    """A real number, not a bool, and finite; an int too large for a float is
    not (math.isfinite would raise OverflowError on it)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if isinstance(value, numbers.Integral):
        return abs(int(value)) <= sys.float_info.max
    return math.isfinite(value)


def _int(name, value, minimum=1):
    # bool is an int subclass and floats are rejected outright (strict form fields);
    # numbers.Integral admits numpy integers. Counts are bounded: the cost
    # model computes in floats.
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum
            or value > MAX_COUNT):
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {rule} (at most 2**53), got {_short(value)}")
    return int(value)


def _real(name, value, rule, ok):
    if not is_finite_number(value) or not ok(value):
        raise ValueError(f"{name} must be {rule}, got {_short(value)}")
    return float(value)


def _short(value) -> str:
    """repr() of a value for a message, shortened (a 400-digit int is not read)."""
    return reprlib.repr(value)


def _geo(a, b, t, integer):
    """Geometric interpolation a -> b: equal *relative* progress for every knob."""
    if a == b or t <= 0.0:
        return a
    if t >= 1.0:
        return b
    x = a * (b / a) ** t
    return round(x) if integer else x


def plan(search_alg, full_dataset_size, num_full_iterations, *, expected_time_ratio=4.0,
         non_pure_train_ratio=0.2, num_workers=1, num_trials=None, max_iterations=None,
         subset_ratio=None, min_subset_size=500, min_iterations=None, reduction_factor=2,
         num_brackets=None) -> Plan:
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
    """
    alg = canonical_algorithm(search_alg)
    n_data = _int("full_dataset_size", full_dataset_size)
    n_full = _int("num_full_iterations", num_full_iterations)
    ratio = _real("expected_time_ratio", expected_time_ratio,
                  f"a number in (1, {MAX_TIME_RATIO:g}]", lambda v: 1 < v <= MAX_TIME_RATIO)
    p = _real("non_pure_train_ratio", non_pure_train_ratio, "in [0, 1)", lambda v: 0 <= v < 1)
    workers = _int("num_workers", num_workers)
    min_subset = _int("min_subset_size", min_subset_size)
    eta = _int("reduction_factor", reduction_factor, 2)
    user_t = None if num_trials is None else _int("num_trials", num_trials)
    user_i = None if max_iterations is None else _int("max_iterations", max_iterations)
    user_s = None if subset_ratio is None else min(1.0, _real(
        "subset_ratio", subset_ratio, "in (0, 1] (values > 1 mean the full set)", lambda v: v > 0))
    min_it = 1 if min_iterations is None else _int("min_iterations", min_iterations)
    nb = 1 if num_brackets is None else _int("num_brackets", num_brackets)

    budget = ratio - 1.0
    s_min = min(1.0, min_subset / n_data)
    notes = []
    if user_s is not None and user_s < s_min:
        notes.append(f"subset_ratio {user_s:g} holds fewer than min_subset_size={min_subset} of "
                     f"{n_data} samples; raised to {s_min:.6g}")
        user_s = s_min

    s_start = max(START_SUBSET, s_min)
    if alg == "bayes_opt":
        min_it, nb, brackets, bracket_epochs = 1, 1, (), None
        t_pref, t_start = BO_MIN_TRIALS, BO_START_TRIALS
        i_start, i_end = min(START_ITERATIONS, n_full), n_full
    else:
        i_start = i_end = n_full if user_i is None else user_i
        if min_it > i_end:
            raise ValueError(f"min_iterations ({min_it}) must be <= max_iterations ({i_end})")
        nb_max = max_brackets(min_it, i_end, eta)
        if nb > nb_max:
            raise ValueError(f"num_brackets must be between 1 and {nb_max} (rungs of bracket 0 "
                             f"plus one), got {nb}")
        brackets = tuple(tuple(asha_rungs(min_it, i_end, eta, b)) for b in range(nb))
        bracket_epochs = [asha_trial_epochs(r, i_end, eta) for r in brackets]
        prefix = [0.0]
        for e in bracket_epochs:
            prefix.append(prefix[-1] + e)
        t_pref = max(nb, min(ASHA_MIN_TRIALS_CAP, eta ** min(len(brackets[0]), 6)))
        t_start = max(ASHA_START_TRIALS, t_pref)
    # Trials up to num_workers run side by side and cost no extra wall time (with one
    # bracket; with several, fewer trials may mean a cheaper bracket mix, so allow 1).
    t_start = max(t_start, min(workers, TRIAL_CAP))
    t_abs = 1 if nb > 1 else min(workers, t_start)
    t_pref = max(t_pref, t_abs)

    def total_epochs(t, i):
        if bracket_epochs is None:
            return t * i
        q, r = divmod(t, nb)   # round robin: trial k runs in bracket k % nb
        return q * prefix[-1] + prefix[r]

    def wall_epochs(t, i):
        """Epochs of wall time (see the module docstring): bayes_opt runs in rounds."""
        if bracket_epochs is None:
            return math.ceil(t / workers) * i
        return total_epochs(t, i) / min(workers, t)

    def cost_of(t, i, s):
        return wall_epochs(t, i) * epoch_cost(s, p) / n_full

    if alg == "bayes_opt":
        anchors = [(t_abs, 1, s_min), (t_pref, 1, s_min), (t_start, i_start, s_start),
                   (TRIAL_CAP, i_end, 1.0)]
    else:
        anchors = [(t_abs, i_end, s_min), (t_pref, i_end, s_min), (t_start, i_end, s_min),
                   (t_start, i_end, s_start), (TRIAL_CAP, i_end, 1.0)]
    anchors = [(t if user_t is None else user_t, i if user_i is None else user_i,
                s if user_s is None else user_s) for t, i, s in anchors]
    t_end, i_last, s_last = anchors[-1]
    if user_t is None:
        # Last segment: trials alone, far enough that its end surely exceeds the budget.
        e_min = i_last if bracket_epochs is None else min(bracket_epochs)
        t_big = math.ceil(2 * budget * n_full * workers / (e_min * epoch_cost(s_last, p))) + 1
        anchors.append((max(t_end, workers, t_big), i_last, s_last))
    last = len(anchors) - 1

    def at(lam):
        k = min(int(lam), last - 1)
        (t0, i0, s0), (t1, i1, s1) = anchors[k], anchors[k + 1]
        u = lam - k
        return _geo(t0, t1, u, True), _geo(i0, i1, u, True), _geo(s0, s1, u, False)

    lo, hi = 0.0, float(last)
    if cost_of(*at(lo)) > budget:
        bases = [at(lo)]
    elif cost_of(*at(hi)) <= budget:
        bases = [at(hi)]
    else:
        for _ in range(64):   # cost is non-decreasing in lam
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            if cost_of(*at(mid)) <= budget:
                lo = mid
            else:
                hi = mid
        bases = [at(lo), at(hi)]

    def grown(t):   # BO: automatic trials past the cap only with epochs and subset maxed
        return user_t is None and t > t_end

    def solve_s(t, i, s):
        if user_s is not None or grown(t):
            return s
        c = budget * n_full / wall_epochs(t, i)
        return min(1.0, max(s_min, (c - p) / (1.0 - p)))

    def solve_t(t, i, s, capped=True):
        if user_t is None:
            per = i if bracket_epochs is None else prefix[-1] / nb
            x = budget * n_full * workers / (per * epoch_cost(s, p))
            if not capped and x <= t_end:   # the cap is not in the way: nothing new
                return
            maxed = i >= i_last and s >= s_last
            hi_t = anchors[-1][0] if maxed else t_end if capped else math.ceil(x) + 1
            ks = list(range(math.floor(x) - 1, math.ceil(x) + 2))
            if bracket_epochs is None:
                # bayes_opt runs in rounds of W trials: a full last round costs no more
                # than a partial one
                ks += [workers * max(1, math.floor(x / workers)), workers * math.ceil(x / workers)]
            # Up to W trials the round-robin bracket mix, not the count, sets the cost (it
            # is not monotone there): scan them if such a plan could be cheap enough.
            dearest_mix = max(bracket_epochs or [0]) * epoch_cost(s_last, p) / n_full
            if capped and nb > 1 and budget * (1 - TOLERANCE) <= dearest_mix:
                ks += range(t_abs, min(workers, hi_t, t_abs + 256) + 1)
            for k in ks:
                k = min(max(k, t_abs), hi_t)
                yield k, i, (s if grown(k) else solve_s(k, i, s))

    def solve_i(t, i, s):
        if user_i is None and alg == "bayes_opt" and not grown(t):
            # epochs trade against rounds of W trials: also try one round fewer, full
            rounds = math.ceil(t / workers)
            ts = [t] if user_t is not None else [t] + [min(workers * r, t_end) for r in {max(1, rounds - 1), rounds}]
            for t in dict.fromkeys(ts):
                x = budget * n_full / (math.ceil(t / workers) * epoch_cost(s, p))
                for k in {min(max(math.floor(x), 1), i_end), min(max(math.ceil(x), 1), i_end)}:
                    yield t, k, solve_s(t, k, s)
                    yield from solve_t(t, k, solve_s(t, k, s))

    stages = (lambda *b: [b, b[:2] + (solve_s(*b),)], solve_t, solve_i,
              lambda *b: solve_t(*b, capped=False))
    best, seen = None, set()
    for stage, make in enumerate(stages):
        for base in bases:
            for cand in make(*base):
                if cand in seen:
                    continue
                seen.add(cand)
                err = abs(cost_of(*cand) / budget - 1.0)
                band = 0 if err <= _AIM else 1 if err <= TOLERANCE else 2
                # The trial cap gives way only if nothing capped lands within 10%. Within
                # 2% the simplest stage wins (least distortion of the path); otherwise the
                # closest; exact ties go under budget (the user's time first).
                over_cap = grown(cand[0]) and (cand[1] < i_last or cand[2] < s_last)
                key = (band == 2, over_cap, band, stage if band == 0 else 0, round(err, 12),
                       cost_of(*cand) > budget)
                if best is None or key < best[0]:
                    best = (key, cand)
    t, i, s = best[1]
    cost = cost_of(t, i, s)
    auto = tuple(n for n, v in (("num_trials", user_t), ("max_iterations", user_i),
                                ("subset_ratio", user_s)) if v is None)
    used = cost / budget
    if abs(used - 1.0) > TOLERANCE:
        head = (f"planned cost {cost:.4g} full trainings is {used:.0%} of the budget {budget:.4g} "
                f"(expected_time_ratio {ratio:.6g} - 1; budget_used {used:.3g})")
        if cost > budget and cost_of(*at(0.0)) > budget * (1 + TOLERANCE):
            why = ("over budget even with the smallest plan the fixed values allow" if auto
                   else "over budget with every value fixed")
            why += "; raise expected_time_ratio or fix smaller values"
        elif cost < budget and cost_of(*at(float(last))) < budget * (1 - TOLERANCE):
            why = "the budget is not used: " + ("the free values are already at their maximum"
                                               if auto else "every value is fixed")
        else:
            why = ("integer steps of the free values are too coarse to land within 10%; "
                   "closest plan shown")
        notes.append(f"{head}: {why}")
    return Plan(search_alg=alg, num_trials=t, max_iterations=i, subset_ratio=float(s),
                min_iterations=min_it, reduction_factor=eta, num_brackets=nb, brackets=brackets,
                num_workers=workers, num_full_iterations=n_full, full_dataset_size=n_data,
                non_pure_train_ratio=p, budget=budget, expected_epochs=float(total_epochs(t, i)),
                cost=cost, auto=auto, warnings=tuple(notes))
