"""What the fault tests check after a study ran through a fault.

* every score a trainer reported is stored exactly once: the 'counted' test
  trainer logs each report that returned (HPOPT_TEST_REPORT_DIR), and the
  log is compared with the Score rows;
* no trial is both running and finished (a finished time on a running trial,
  or a score stored after its trial ended);
* ASHA never lets more trials past a rung than its quota at decision time:
  each rung is replayed in the order its decisions were taken (the ids of the
  scores stored at the milestone) and every decision must be the quota's;
* trial numbers are 0..n-1, and the dashboard answers.
"""
from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

from hpopt.algorithms.asha import continues
from hpopt.status import TrialState
from studies.models import Score, Study
from tests.conftest import study_data, wait_for

#: the fault tests' study: ASHA on the 'counted' trainer, 3 trials at a time
FAULT_STUDY = dict(trainer="counted", search_alg="asha", parallelism=3, num_trials=12, num_brackets=2,
                   reduction_factor=2, expected_time_ratio=6, start=True)
FINISHED = {s.value for s in TrialState if s.is_finished()}
#: states whose trainer ran its course (rung decisions can be checked against how far it got)
RAN_ITS_COURSE = {TrialState.COMPLETED.value, TrialState.STOPPED.value}


@dataclasses.dataclass(frozen=True)
class Report:
    attempt: int
    iteration: int
    value: float
    status: str


def logged_reports(report_dir: Path) -> dict[int, list[Report]]:
    """trial number -> the reports its trainer made, in order: status SENT
    before each call, then the answer (RUNNING or STOP) once it returned."""
    out: dict[int, list[Report]] = {}
    for path in Path(report_dir).glob("trial-*"):
        number = int(path.name.split("-")[1])
        for line in path.read_text().splitlines():
            attempt, iteration, value, status = line.split()
            out.setdefault(number, []).append(Report(int(attempt), int(iteration), float(value), status))
    return out


def start_study(api, **overrides) -> Study:
    r = api.post("/api/studies", study_data(**{**FAULT_STUDY, **overrides}))
    assert r.status_code == 201, r.json()
    return Study.objects.get(pk=r.json()["id"])


def dashboard_answers(api, study) -> bool:
    r = api.get(f"/api/studies/{study.pk}")
    assert r.status_code == 200, (r.status_code, r.content[:300])
    return True


def wait_until_finished(api, study, timeout: float) -> Study:
    """Polls through the API (the dashboard must answer all along) until the study ended."""
    def ended():
        dashboard_answers(api, study)
        return Study.objects.get(pk=study.pk).state not in ("running", "paused")

    wait_for(ended, timeout, interval=0.25, message=f"study {study.pk} to finish")
    study.refresh_from_db()
    return study


def pause_and_resume(api, study, timeout: float = 60) -> None:
    """The study pauses (its running trials at their next report) and resumes."""
    assert api.post(f"/api/studies/{study.pk}/pause").status_code == 200
    wait_for(lambda: not study.trials.filter(state="running").exists(), timeout, interval=0.1,
             message="the running trials to pause")
    assert api.post(f"/api/studies/{study.pk}/resume").status_code == 200


def check_invariants(study, report_dir: Path | None = None) -> dict:
    """Asserts every invariant of the module docstring; returns a few counts."""
    study.refresh_from_db()
    trials = list(study.trials.order_by("number"))
    assert [t.number for t in trials] == list(range(len(trials))), "trial numbers are 0..n-1, never reused"

    for t in trials:
        if t.state == TrialState.RUNNING.value:
            assert t.finished is None, f"trial {t.number} is running but has a finished time"
        if t.state in FINISHED:
            assert t.finished is not None, f"trial {t.number} is {t.state} without a finished time"
            late = t.scores.filter(created__gt=t.finished)
            late_iterations = list(late.values_list("iteration", flat=True))
            assert not late_iterations, f"trial {t.number} stored scores after it ended: {late_iterations}"
        rows = list(t.scores.values_list("iteration", flat=True))
        assert len(rows) == len(set(rows)), f"trial {t.number} stored an iteration twice"
        if t.state == TrialState.COMPLETED.value:
            assert set(range(1, t.iterations + 1)) <= set(rows), f"completed trial {t.number} lost scores"

    reports = 0
    if report_dir is not None:
        logged = logged_reports(report_dir)
        for t in trials:
            stored = dict(t.scores.values_list("iteration", "value"))
            made = logged.get(t.number, [])
            reports += sum(r.status != "SENT" for r in made)
            values = collections.defaultdict(set)
            for r in made:
                values[r.iteration].add(r.value)
            for iteration, value in stored.items():
                assert value in values[iteration], (
                    f"trial {t.number} has a score at iteration {iteration} that its trainer never reported")
            for r in made:
                # an answer of RUNNING means it was stored; a STOP may also mean
                # the trial had ended and nothing was stored
                if r.status == "RUNNING":
                    assert stored.get(r.iteration) == r.value, f"trial {t.number}: report {r} was lost"
            final = [r for r in made if r.attempt == t.attempt and r.status != "SENT"]
            if final and t.state in RAN_ITS_COURSE:
                last = final[-1]
                assert stored.get(last.iteration) == last.value, f"trial {t.number}: its last report {last} was lost"
        assert set(logged) <= {t.number for t in trials}

    if study.algorithm == "asha":
        check_asha_quotas(study, trials)
    check_budget(study)
    return {"trials": len(trials), "reports": reports, "scores": Score.objects.filter(study=study).count()}


def rung_arrivals(study, trials, milestone: int):
    """[(trial, score at the rung)] of every bracket at ``milestone``, in the
    order the rung's decisions were taken: reports are decided one at a time
    under the study's lock, and a score reported again with the same value
    keeps its row, so the ids of the scores stored at the milestone give
    that order."""
    key = str(milestone)
    at_rung = [t for t in trials if key in t.rungs]
    order = dict(Score.objects.filter(trial__in=at_rung, iteration=milestone).values_list("trial_id", "id"))
    missing = [t.number for t in at_rung if t.pk not in order]
    assert not missing, f"trials {missing} recorded rung {milestone} without a score there"
    return [(t, t.rungs[key]) for t in sorted(at_rung, key=lambda t: order[t.pk])]


def check_asha_quotas(study, trials) -> None:
    """Every rung decision, replayed in the order it was taken: a trial went
    past a rung only inside the quota; one stopped there by the quota ranked
    outside it; one stopped there by the budget ranked inside it (the budget
    is asked only after the rank). A trial ranks among its bracket's scores
    at the rung, or, while fewer than eta of them are there with its own,
    among every bracket's (hpopt.algorithms.asha)."""
    eta = study.plan["reduction_factor"]
    sign = 1 if study.mode == "max" else -1
    brackets = study.plan["brackets"]
    for milestone in sorted({m for ms in brackets for m in ms}):
        recorded = {b: [] for b in range(len(brackets))}
        for trial, score in rung_arrivals(study, trials, milestone):
            own = recorded.setdefault(trial.bracket, [])
            peers = own if len(brackets) == 1 or len(own) + 1 >= eta else [v for vs in recorded.values() for v in vs]
            allowed = continues(sign * score, peers, eta)
            where = (f"bracket {trial.bracket} rung {milestone}: trial {trial.number} "
                     f"({trial.state}, {trial.stop_reason!r})")
            if trial.last_iteration > milestone:
                assert allowed, f"{where} went past the rung beyond its quota"
            elif trial.state == TrialState.STOPPED.value and trial.stop_reason.startswith("below the top"):
                assert not allowed, f"{where} was stopped at the rung although its quota let it continue"
            elif trial.state == TrialState.STOPPED.value and trial.stop_reason.startswith("budget reached"):
                assert allowed, f"{where} was stopped by the budget although its rank stopped it first"
            own.append(sign * score)


def check_budget(study) -> None:
    """Under the hard budget a study never spends more than its budget."""
    from studies.progress import summary

    budget = summary(study)["budget"]
    if budget["hard"]:
        assert budget["spent"] <= budget["total"] * (1 + 1e-9), budget
