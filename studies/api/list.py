"""GET /api/studies (the studies list: a page, searched and sorted on the
server; studies.listing) and POST /api/studies (create a study)."""
from __future__ import annotations

from django.http import JsonResponse

from studies import control, dispatch, listing
from studies.api.auth import api, error
from studies.api.serialize import study_dict
from studies.models import Study
from studies.validation import validate_study


@api(methods=("GET", "POST"))
def studies(request):
    if request.method == "POST":
        return _create(request)
    query, errors = listing.ListQuery.parse(request.GET)
    if errors:
        return error(400, errors)
    page = listing.page_of(Study.objects.visible_to(request.user), query)
    return JsonResponse({"studies": page.rows, "total": page.total, "page": page.page, "pages": page.pages,
                         "per_page": page.per_page})


def _create(request):
    cleaned, errors = validate_study(request.json, dispatch.get().trainers(), dispatch.capacity_for(request.json))
    if errors:
        why = dispatch.get().why_missing()
        if "trainer" in errors and why:
            errors["trainer"] += f"; {why}"
        return error(400, errors)
    study = control.create(request.user, cleaned)
    return JsonResponse(study_dict(study), status=201)
