"""Pages. Each view renders a template whose script polls the JSON API."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from studies.models import Study


@login_required
def study_list(request):
    studies = Study.objects.visible_to(request.user).select_related("owner")
    return render(request, "studies/list.html", {"studies": studies})
