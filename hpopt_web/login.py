"""The login page, throttled (studies.models.LoginFailure): a username
that failed LoginFailure.LIMIT times from one address within its window is
refused there, with how long to wait, whatever the password (no answer
tells a right one from a wrong one while locked)."""
from __future__ import annotations

import math

from django.contrib.auth.views import LoginView

from studies.models import LoginFailure


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")[:45]


class ThrottledLoginView(LoginView):
    template_name = "registration/login.html"

    def post(self, request, *args, **kwargs):
        wait = LoginFailure.locked_for(request.POST.get("username", ""), _address(request))
        if wait is None:
            return super().post(request, *args, **kwargs)
        form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")[:150]})
        context = self.get_context_data(form=form, locked_minutes=max(1, math.ceil(wait.total_seconds() / 60)))
        return self.render_to_response(context, status=429)

    def form_invalid(self, form):
        LoginFailure.record(self.request.POST.get("username", ""), _address(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        LoginFailure.clear(self.request.POST.get("username", ""), _address(self.request))
        return super().form_valid(form)
