"""The workers page; its script polls GET /api/workers."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def workers(request):
    return render(request, "runner/workers.html")
