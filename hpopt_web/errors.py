"""Error answers: JSON under /api/ (the shape of every API error,
``{"errors": {...}}``), Django's own pages everywhere else. Django calls
these for what happens outside a view's own answers: an unknown path (404),
a body over DATA_UPLOAD_MAX_MEMORY_SIZE (RequestDataTooBig: 400), a crash (500)."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _json(status: int, errors: dict) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


def body_too_big() -> dict:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return {"body": f"the request body must be at most {limit} bytes ({limit / 2**20:g} MiB)"}


def bad_request(request, exception):
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _json(400, body_too_big())
    return _json(400, {"__all__": "bad request"})


def permission_denied(request, exception):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _json(403, {"__all__": "forbidden"})


def page_not_found(request, exception):
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _json(404, {"__all__": f"no such API route: {request.method} {request.path} (see docs/api.md)"})


def server_error(request):
    if not _is_api(request):
        return defaults.server_error(request)
    return _json(500, {"__all__": "internal server error (the server's log has the details)"})
