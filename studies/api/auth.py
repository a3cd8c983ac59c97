"""Authentication for the JSON API: the browser's session (with CSRF on
writes) or ``Authorization: Token <key>`` for scripts."""
from __future__ import annotations

import functools
import json

from django.http import Http404, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from studies.models import ApiToken


def _token_key(request) -> str | None:
    """The key of an ``Authorization: Token <key>`` header; None for no
    header or another scheme (a proxy's Basic auth in front of the session)."""
    kind, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if kind.lower() == "token" and key.strip() else None


def _csrf_failure(request):
    check = CsrfViewMiddleware(lambda r: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


def error(status: int, errors) -> JsonResponse:
    if isinstance(errors, str):
        errors = {"__all__": errors}
    return JsonResponse({"errors": errors}, status=status)


def api(methods=("GET",)):
    """JSON view decorator: allowed methods, authentication (session or
    token), CSRF for session writes, a parsed JSON body as ``request.json``."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def inner(request, *args, **kwargs):
            if request.method not in methods:
                return error(405, f"method {request.method} not allowed (use {', '.join(methods)})")
            key = _token_key(request)
            user = ApiToken.user_for(key) if key else None
            if user is not None:
                request.user = user
            elif key:
                # a key was sent: say that it is the key, not a missing login
                return error(401, "the API token is unknown, expired or revoked "
                                  "(make a new one at /tokens/ or with 'hpopt-web token USERNAME')")
            elif not request.user.is_authenticated:
                return error(401, "log in, or send 'Authorization: Token <key>'")
            elif request.method not in ("GET", "HEAD"):
                # read the body first: the CSRF check parses a form body from the
                # stream, after which request.body could not be read below
                request.body  # noqa: B018
                if _csrf_failure(request) is not None:
                    return error(403, "CSRF token missing or incorrect")
            request.json = None
            if request.method == "POST" and request.body:
                try:
                    request.json = json.loads(request.body)
                except (ValueError, UnicodeDecodeError) as exc:
                    return error(400, f"the body must be JSON: {exc}")
                except RecursionError:
                    return error(400, "the body must be JSON nested less deeply")
            try:
                return view(request, *args, **kwargs)
            except Http404:
                # JSON like every API answer (not Django's HTML page); the same
                # answer for a missing study and for another user's
                return error(404, "not found")

        return inner

    return wrap
