"""The JSON API (see docs/api.md). Views parse, call one model method, answer."""
from __future__ import annotations

import json

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from hpopt.errors import FieldError
from studies import compare, control, dispatch, overview, timing, trial_table
from studies.api import cursor
from studies.api.auth import api, error
from studies.api.serialize import best_config, notes_dict, study_dict, trial_dict, trial_rows, trials_csv_text
from studies.durations import parse_duration
from studies.models import Study, Trial
from studies.validation import validate_study

#: trials a page may select (their curves come with every answer that asks)
MOST_SELECTED = 50


def _study_for(request, pk) -> Study:
    return get_object_or_404(Study.objects.visible_to(request.user).select_related("owner"), pk=pk)


def _trial_for(request, pk) -> Trial:
    return get_object_or_404(Trial.objects.filter(study__in=Study.objects.visible_to(request.user)), pk=pk)


@api()
def study_detail(request, pk):
    """The live page's poll; a first load (or ``overview=1``) adds a big
    study's aggregates (studies.overview)."""
    study = _study_for(request, pk)
    since = request.GET.get("since")
    try:
        selected = compare.numbers(request.GET["curves"], "curves", MOST_SELECTED) if "curves" in request.GET else ()
    except compare.CompareError as exc:
        return error(400, exc.errors)
    try:
        changes, tally, snapshot = cursor.poll(study, since, selected)
    except (ValueError, OverflowError, OSError):
        # OverflowError/OSError: numbers no id or time can be (1e400 ms, an id
        # past SQLite's 64 bits): as malformed as any other
        return error(400, {"since": "since must be a cursor returned by this endpoint"})
    body = {"study": study_dict(study, snapshot=snapshot), **changes}
    # where the resumed (or re-run) trials' later attempts began, for the curves' markers
    again = {row["id"]: row["number"] for row in changes["trials"] if row["attempt"] > 1}
    body["attempt_starts"] = {again[i]: v for i, v in compare.attempt_starts(list(again)).items()}
    if not since or request.GET.get("overview"):
        body["overview"] = overview.overview(study, tally)
    return JsonResponse(body)


@api()
def study_trials(request, pk):
    """A page of the trial table, sorted and filtered (studies.trial_table)."""
    study = _study_for(request, pk)
    try:
        query = trial_table.parse(study, request.GET)
        offset, limit = trial_table.page_bounds(request.GET)
    except trial_table.TableError as exc:
        return error(400, exc.errors)
    trials = trial_table.trials_for(study, query)
    return JsonResponse({"total": trials.count(), "offset": offset, "limit": limit,
                         "trials": trial_rows(trials[offset:offset + limit])})


STUDY_ACTIONS = {"start": control.start, "pause": control.pause, "resume": control.resume, "kill": control.kill}
TRIAL_ACTIONS = {"pause": control.pause_trial, "resume": control.resume_trial, "kill": control.kill_trial}


@api(methods=("POST",))
def study_action(request, pk, action):
    study = _study_for(request, pk)
    if action not in STUDY_ACTIONS:
        return error(404, f"unknown action {action!r}")
    if study.archived and action in ("start", "resume"):
        return error(409, f"cannot {action} an archived study: unarchive it first")
    if not STUDY_ACTIONS[action](study):
        study.refresh_from_db()
        return error(409, f"cannot {action} a study that is {study.state}")
    study.refresh_from_db()
    return JsonResponse(study_dict(study))


@api(methods=("POST",))
def study_budget(request, pk):
    """More budget: {"expected_time_ratio": x}, {"budget": "2h"} (more wall
    time) or {"add_trials": n}; the study re-plans and goes on."""
    study = _study_for(request, pk)
    if study.archived:
        return error(409, "cannot give more budget to an archived study: unarchive it first")
    body = request.json if isinstance(request.json, dict) else {}
    given = [k for k in ("expected_time_ratio", "budget", "add_trials") if body.get(k) is not None]
    if len(given) != 1:
        return error(400, {"budget": "give one of expected_time_ratio, budget (more wall time, e.g. '2h') "
                                     "or add_trials"})
    field = given[0]
    try:
        seconds = parse_duration(body["budget"]) if field == "budget" else None
        moved = control.add_budget(study, expected_time_ratio=body.get("expected_time_ratio"),
                                   add_trials=body.get("add_trials"), seconds=seconds)
    except (FieldError, ValueError) as exc:
        return error(400, {field: str(exc) if field != "budget" else f"budget {exc}"})
    if not moved:
        return error(409, f"cannot give more budget to a study that is {study.state}")
    return JsonResponse(study_dict(study))


@api(methods=("POST",))
def trial_action(request, pk, action):
    trial = _trial_for(request, pk)
    if action not in TRIAL_ACTIONS:
        return error(404, f"unknown action {action!r}")
    if not TRIAL_ACTIONS[action](trial):
        trial.refresh_from_db()
        return error(409, f"cannot {action} a trial that is {trial.state}")
    trial.refresh_from_db()
    return JsonResponse(trial_dict(trial))


@api()
def trial_detail(request, pk):
    trial = _trial_for(request, pk)
    data = trial_dict(trial)
    data.update(
        **notes_dict(trial), study=trial.study_id, log=trial.log, traceback=trial.traceback,
        scores=list(trial.scores.order_by("iteration").values_list("iteration", "value")),
        attempts=[a.to_dict(trial) for a in trial.attempts.order_by("number")],
        attempt_starts=compare.attempt_starts([trial.pk]).get(trial.pk, []),
    )
    return JsonResponse(data)


@api(methods=("POST",))
def plan_preview(request):
    """Auto Config preview: the plan and the estimated wall time."""
    data = request.json if isinstance(request.json, dict) else {}
    # name and trainer do not change a plan: placeholders stand in for them (a
    # form not filled in yet has neither), so their errors cannot hide a plan
    cleaned, errors = validate_study({**data, "name": "preview", "trainer": "preview"}, {"preview"},
                                     dispatch.capacity_for(data))
    if errors:
        return error(400, errors)
    return JsonResponse(timing.preview(cleaned))


@api()
def best_config_download(request, pk):
    study = _study_for(request, pk)
    data = best_config(study)
    if data is None:
        return error(404, "no trial has reported a score yet")
    response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-best-config.json"'
    return response


@api()
def trials_csv(request, pk):
    """Every trial, or those the table's filters and sort pick (studies.trial_table)."""
    study = _study_for(request, pk)
    params = request.GET.copy()
    params.setdefault("sort", "number")   # a download lists the trials in order, as it always did
    try:
        trials = trial_table.trials_for(study, trial_table.parse(study, params))
    except trial_table.TableError as exc:
        return error(400, exc.errors)
    response = HttpResponse(trials_csv_text(study, trials), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-trials.csv"'
    return response
