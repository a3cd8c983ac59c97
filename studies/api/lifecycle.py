"""Archive, unarchive and delete a study; exclude a trial from the model's
view or include it again; notes and tags (docs/api.md). The rules are in
studies.lifecycle and studies.validation; a refusal is a 409 saying why."""
from __future__ import annotations

from django.http import JsonResponse
from django.utils import timezone

from studies import lifecycle
from studies.api.auth import api, error
from studies.api.serialize import notes_dict, study_dict, trial_dict
from studies.api.views import _study_for, _trial_for
from studies.models import Study, Trial
from studies.validation import clean_notes, clean_tags


def _refusable(action):
    """Runs ``action()``; a lifecycle.Refused becomes a 409 with its message."""
    try:
        action()
    except lifecycle.Refused as exc:
        return error(409, str(exc))
    return None


@api(methods=("POST",))
def study_archive(request, pk, archived: bool):
    study = _study_for(request, pk)
    refused = _refusable(lambda: lifecycle.set_archived(study, archived))
    return refused or JsonResponse(study_dict(study))


@api(methods=("POST",))
def study_delete(request, pk):
    study = _study_for(request, pk)
    study_id = study.pk
    refused = _refusable(lambda: lifecycle.delete(study))
    return refused or JsonResponse({"deleted": study_id})


@api(methods=("POST",))
def trial_exclude(request, pk, excluded: bool):
    trial = _trial_for(request, pk)
    refused = _refusable(lambda: lifecycle.set_excluded(trial, excluded))
    return refused or JsonResponse(trial_dict(trial))


def _body(request) -> dict | None:
    return request.json if isinstance(request.json, dict) else None


@api(methods=("POST",))
def study_notes(request, pk):
    """{"notes": "<Markdown>"} and/or {"tags": [...] or "a, b"}: what is given is replaced."""
    study = _study_for(request, pk)
    body = _body(request)
    if body is None or not ({"notes", "tags"} & body.keys()):
        return error(400, {"__all__": "give notes (Markdown text) and/or tags (a list of tags)"})
    changes, errors = {}, {}
    if "notes" in body:
        changes["notes"], why = clean_notes(body["notes"])
        if why:
            errors["notes"] = why
    if "tags" in body:
        tags, why = clean_tags(body["tags"])
        if why:
            errors["tags"] = why
        changes["tags"] = f" {' '.join(tags)} " if tags else ""   # found as " tag " (studies.listing)
    if errors:
        return error(400, errors)
    Study.objects.filter(pk=study.pk).update(**changes, updated=timezone.now())
    study.refresh_from_db()
    return JsonResponse(notes_dict(study))


@api(methods=("POST",))
def trial_notes(request, pk):
    """{"notes": "<Markdown>"}."""
    trial = _trial_for(request, pk)
    body = _body(request)
    if body is None or "notes" not in body:
        return error(400, {"notes": "give notes (Markdown text)"})
    notes, why = clean_notes(body["notes"])
    if why:
        return error(400, {"notes": why})
    Trial.objects.filter(pk=trial.pk).update(notes=notes)
    trial.refresh_from_db()
    return JsonResponse(notes_dict(trial))
