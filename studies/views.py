"""Pages. Each view renders a template; the page's script reads the JSON API
(studies/api/) and keeps itself live by polling it."""
import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from hpopt.status import StudyState
from studies import definitions, listing
from studies.api.serialize import notes_dict
from studies.models import ApiToken, Study, Trial
from studies.validation import LIMITS, form_schema


def _visible_study(request, pk) -> Study:
    return get_object_or_404(Study.objects.visible_to(request.user), pk=pk)


def duration_text(seconds) -> str:
    """12s, 4m 05s, 3h 20m, 2d 4h; "" for None."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _list_row(row: dict) -> dict:
    """A row of studies.listing as the list page's template shows it."""
    when = row["started"] and datetime.datetime.fromisoformat(row["started"])
    return {**row, "started": when, "percent": round(100 * row["progress"], 1),
            "eta": duration_text(row["eta_seconds"])}


def _page_link(query: listing.ListQuery, **changes) -> str:
    """The list's query string with ``changes`` (defaults left out)."""
    wanted = {"q": query.q, "tag": query.tag, "state": query.state, "archived": query.archived, "sort": query.sort,
              "page": query.page, **changes}
    defaults = {"q": "", "tag": "", "state": "", "archived": "", "sort": "-created", "page": 1}
    return "?" + urlencode({k: v for k, v in wanted.items() if v != defaults[k]})


@login_required
def study_list(request):
    visible = Study.objects.visible_to(request.user)
    query, errors = listing.ListQuery.parse(request.GET)
    if errors:   # a page keeps what it understood; the API answers 400 instead
        query, _ = listing.ListQuery.parse({k: v for k, v in request.GET.items() if k not in errors})
    counts, archived = listing.state_counts(visible, query)
    page = listing.page_of(visible, query)
    filters = [("", "All", sum(counts.values()), _page_link(query, state="", page=1))] + [
        (s.value, s.value.capitalize(), counts.get(s.value, 0), _page_link(query, state=s.value, page=1))
        for s in StudyState]
    # the archived studies are a shelf of their own: a chip shows them, and again the rest
    shelf = ("Not archived", _page_link(query, archived="", state="", page=1)) if query.archived else (
        "Archived", _page_link(query, archived="1", state="", page=1))
    # a header's first click sorts names and states A-Z, the rest highest or newest first; the next reverses
    first = {key: key if key in ("name", "state") else f"-{key}" for key in listing.SORTS}
    sorts = {key: _page_link(query, sort=f.lstrip("-") if query.sort == f and f[0] == "-" else
                             (f"-{key}" if query.sort == f else f), page=1) for key, f in first.items()}
    return render(request, "studies/list.html", {
        "rows": [_list_row(r) for r in page.rows], "query": query, "filters": filters, "sorts": sorts,
        "page": page, "this_page": _page_link(query), "archived_count": archived, "shelf": shelf,
        "untagged": query.tag and _page_link(query, tag="", page=1),
        "previous": page.page > 1 and _page_link(query, page=page.page - 1),
        "next": page.page < page.pages and _page_link(query, page=page.page + 1),
    })


def _builder(request, source: dict | None = None, status: int = 200):
    """The New-study builder; ``source``: the study it starts from
    ({"kind": "clone" or "edit", "id", "name", "body"}), None for a blank one."""
    last = Study.objects.visible_to(request.user).filter(owner=request.user).values_list("trainer", flat=True).first()
    hints = {"last_trainer": last}
    return render(request, "studies/new.html", {"hints": hints, "rules": form_schema(), "source": source},
                  status=status)


@login_required
def study_new(request):
    """A blank builder, or with ``?from=<id>`` one pre-filled from that study (saving creates a new study)."""
    pk = request.GET.get("from", "")
    if not pk:
        return _builder(request)
    if not pk.isdecimal():
        raise Http404("from must be a study id")
    source = _visible_study(request, int(pk))
    return _builder(request, {"kind": "clone", "id": source.pk, "name": source.name,
                              "body": {**definitions.definition(source), "name": definitions.clone_name(source.name)}})


@login_required
def study_edit(request, pk):
    """The builder on a draft: saving changes the draft (POST /api/studies/<id>/edit)."""
    study = _visible_study(request, pk)
    if study.state != StudyState.DRAFT.value:
        return render(request, "studies/not_editable.html", {"study": study}, status=409)
    return _builder(request, {"kind": "edit", "id": study.pk, "name": study.name,
                              "body": definitions.definition(study)})


@login_required
def study_detail(request, pk):
    study = _visible_study(request, pk)
    return render(request, "studies/detail.html", {"study": study, "notes": notes_dict(study), "limits": LIMITS})


@login_required
def compare_trials(request, pk):
    """Trials of a study side by side (?trials=3,7,9); the page reads GET /api/studies/<id>/compare."""
    return render(request, "studies/compare_trials.html", {"study": _visible_study(request, pk)})


@login_required
def compare_studies(request):
    """Studies of one trainer overlaid (?studies=4,9); the page reads GET /api/compare."""
    return render(request, "studies/compare_studies.html", {})


@login_required
def trial_detail(request, pk):
    trial = get_object_or_404(
        Trial.objects.filter(study__in=Study.objects.visible_to(request.user)).select_related("study"), pk=pk
    )
    return render(request, "studies/trial.html", {"trial": trial, "study": trial.study, "notes": notes_dict(trial),
                                                  "limits": LIMITS})


@login_required
def tokens(request):
    """The user's API tokens: list, create (a name, an expiry), revoke. Plain
    forms (no script); a new key is shown once, on the answer to its form."""
    new_key, errors, status = None, {}, 200
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            pk = request.POST.get("id", "")
            if pk.isdecimal():
                ApiToken.revoke(request.user, pk=int(pk))
        else:
            name, expiry, errors = ApiToken.check_request(request.POST.get("name", ""),
                                                          request.POST.get("expires_days", ""))
            if errors:
                status = 400
            else:
                new_key = ApiToken.issue(request.user, name, expiry)
    return render(request, "studies/tokens.html", {
        "here": "tokens", "tokens": request.user.api_tokens.order_by("-created"), "new_key": new_key,
        "errors": errors, "max_days": ApiToken.MAX_EXPIRY_DAYS, "form": request.POST if errors else {},
    }, status=status)
