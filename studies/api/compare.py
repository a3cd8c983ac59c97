"""Compare routes (see docs/api.md, "Compare"): trials of a study side by
side, and studies of one trainer overlaid. The series are computed and
bounded by studies.compare."""
from __future__ import annotations

from django.http import JsonResponse

from studies import compare
from studies.api.auth import api, error
from studies.api.views import _study_for
from studies.models import Study


@api()
def compare_trials(request, pk):
    """?trials=3,7,9 (trial numbers, at most compare.MOST_TRIALS)."""
    study = _study_for(request, pk)
    try:
        wanted = compare.numbers(request.GET.get("trials", ""), "trials", compare.MOST_TRIALS)
        return JsonResponse(compare.trials_side_by_side(study, wanted))
    except compare.CompareError as exc:
        return error(400, exc.errors)


@api()
def compare_studies(request):
    """?studies=4,9 (study ids of one trainer, at most compare.MOST_STUDIES)."""
    try:
        ids = compare.numbers(request.GET.get("studies", ""), "studies", compare.MOST_STUDIES)
    except compare.CompareError as exc:
        return error(400, exc.errors)
    found = Study.objects.visible_to(request.user).in_bulk(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        return error(404, {"studies": f"no study #{missing[0]} that you can see"})
    try:
        return JsonResponse(compare.studies_overlaid([found[i] for i in ids]))
    except compare.CompareError as exc:
        return error(400, exc.errors)
