"""POST /api/studies/<id>/clone, /edit and /enqueue (studies.definitions)."""
from __future__ import annotations

from django.http import JsonResponse

from hpopt.errors import ConfigError, HpoError
from studies import definitions
from studies.api.auth import api, error
from studies.api.serialize import study_dict, trial_dict
from studies.api.views import _study_for


def _body(request):
    """The JSON body, {} when there is none (a clone without changes)."""
    return {} if request.json is None else request.json


@api(methods=("POST",))
def study_clone(request, pk):
    """A new draft defined as this study, with the body's fields over it."""
    study, errors = definitions.clone(_study_for(request, pk), request.user, _body(request))
    if errors:
        return error(400, errors)
    return JsonResponse(study_dict(study), status=201)


@api(methods=("POST",))
def study_edit(request, pk):
    """A draft's definition, with the body's fields changed."""
    study = _study_for(request, pk)
    try:
        errors = definitions.edit_draft(study, _body(request))
    except definitions.StateConflict as exc:
        return error(409, str(exc))
    if errors:
        return error(400, errors)
    return JsonResponse(study_dict(study))


@api(methods=("POST",))
def study_enqueue(request, pk):
    """{"params": {name: value, ...}}: a hand-picked trial, queued."""
    study = _study_for(request, pk)
    body = _body(request)
    if not isinstance(body, dict) or "params" not in body:
        return error(400, {"params": "give the config as {\"params\": {\"<parameter>\": value, ...}}"})
    try:
        trial = definitions.enqueue(study, body["params"])
    except definitions.StateConflict as exc:
        return error(409, str(exc))
    except ConfigError as exc:
        return error(400, {k if k == "params" else f"params.{k}": v for k, v in exc.errors.items()})
    except HpoError as exc:   # NoRoom, or a study that failed
        return error(409, str(exc))
    return JsonResponse(trial_dict(trial), status=201)
