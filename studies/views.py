"""Pages. Each view renders a template; the page's script reads the JSON API
(studies/api/) and keeps itself live by polling it."""
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, render

from hpopt.status import StudyState, TrialState
from studies import progress
from studies.models import ApiToken, Study, Trial
from studies.validation import form_schema

LIST_LIMIT = 200


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


def _list_row(study) -> dict:
    summary = progress.summary(study)
    counts = summary["counts"]
    return {
        "study": study, "best": study.best_trial(), "progress": summary["progress"],
        "percent": round(100 * summary["progress"], 1), "eta": duration_text(summary["eta_seconds"]),
        "trials": sum(counts.values()), "planned": study.plan.get("num_trials"),
        "running": counts.get(TrialState.RUNNING.value, 0),
    }


@login_required
def study_list(request):
    visible = Study.objects.visible_to(request.user)
    counts = dict(visible.order_by().values_list("state").annotate(n=Count("id")))
    state = request.GET.get("state", "")
    studies = visible.select_related("owner")
    if state in StudyState._value2member_map_:
        studies = studies.filter(state=state)
    else:
        state = ""
    filters = [("", "All", sum(counts.values()))] + [
        (s.value, s.value.capitalize(), counts.get(s.value, 0)) for s in StudyState]
    return render(request, "studies/list.html", {
        "rows": [_list_row(s) for s in studies[:LIST_LIMIT]], "state": state, "filters": filters,
        "limit": LIST_LIMIT, "total": counts.get(state, 0) if state else sum(counts.values()),
    })


@login_required
def study_new(request):
    last = Study.objects.visible_to(request.user).filter(owner=request.user).values_list("trainer", flat=True).first()
    hints = {"last_trainer": last}
    return render(request, "studies/new.html", {"hints": hints, "rules": form_schema()})


@login_required
def study_detail(request, pk):
    return render(request, "studies/detail.html", {"study": _visible_study(request, pk)})


@login_required
def trial_detail(request, pk):
    trial = get_object_or_404(
        Trial.objects.filter(study__in=Study.objects.visible_to(request.user)).select_related("study"), pk=pk
    )
    return render(request, "studies/trial.html", {"trial": trial, "study": trial.study})


@login_required
def tokens(request):
    """The user's API tokens: list, create (a name, an expiry), revoke. Plain
    forms (no script); a new key is shown once, on the answer to its form."""
    new_key, errors, status = None, {}, 200
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            pk = request.POST.get("id", "")
            if pk.isdigit():
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
