"""A database that is away for a moment answers 503, not a crash page.

PostgreSQL restarting, a network blip or SQLite's "database is locked" after
its timeout raise OperationalError / InterfaceError in whichever view runs.
The answer is 503 with Retry-After (JSON under /api/, the shape of every API
error), and the broken connection is dropped so the next request reconnects.
The live pages keep polling and pick up again once the database is back.
"""
from __future__ import annotations

import contextlib
import logging

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse

log = logging.getLogger("hpopt.web")
RETRY_AFTER_SECONDS = 5
MESSAGE = "the database is unavailable for the moment; try again in a few seconds"


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.warning("%s %s: database unavailable: %s", request.method, request.path, exception)
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block:
                with contextlib.suppress(Exception):
                    conn.close()
        if request.path.startswith("/api/"):
            response = JsonResponse({"errors": {"__all__": MESSAGE}}, status=503)
        else:
            response = HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
