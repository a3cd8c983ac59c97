"""The Analysis section's API (docs/api.md, "Analysis"): parameter
importance, parallel coordinates, slices and a contour of two parameters,
computed on the server from a bounded sample (studies.analysis)."""
from __future__ import annotations

from django.http import JsonResponse

from studies.analysis import aggregates
from studies.analysis.data import Cache
from studies.api.auth import api, error
from studies.api.views import _study_for

CACHE = Cache()


def _computed(study) -> dict:
    return CACHE.get(study, lambda ds: {"dataset": ds, "body": aggregates.analysis(ds, study.mode)})


@api()
def study_analysis(request, pk):
    study = _study_for(request, pk)
    return JsonResponse(_computed(study)["body"])


@api()
def study_contour(request, pk):
    """?x=<param>&y=<param>[&bins=N]: the mean score per cell of a grid."""
    study = _study_for(request, pk)
    names = list(study.initial_space)
    errors = {}
    for key in ("x", "y"):
        if request.GET.get(key, "") not in names:
            errors[key] = f"{key} must be a parameter of this study ({', '.join(names)})"
    if not errors and request.GET["x"] == request.GET["y"]:
        errors["y"] = "y must be another parameter than x"
    raw = request.GET.get("bins", "") or str(aggregates.CONTOUR_BINS)
    if not raw.isdecimal() or not 2 <= int(raw) <= aggregates.MAX_CONTOUR_BINS:
        errors["bins"] = f"bins must be a whole number from 2 to {aggregates.MAX_CONTOUR_BINS}"
    if errors:
        return error(400, errors)
    data = aggregates.contour(_computed(study)["dataset"], request.GET["x"], request.GET["y"], int(raw))
    return JsonResponse({"mode": study.mode, **data})
