"""The user's own API tokens: GET/POST /api/tokens, POST /api/tokens/<id>/revoke
(docs/api.md). The rules are ApiToken's; the page (studies.views.tokens) and
``hpopt-web token`` use the same."""
from __future__ import annotations

from django.http import Http404, JsonResponse

from studies.api.auth import api, error
from studies.models import ApiToken


@api(methods=("GET", "POST"))
def tokens(request):
    if request.method == "GET":
        return JsonResponse({"tokens": [t.to_dict() for t in request.user.api_tokens.order_by("-created")]})
    body = request.json if isinstance(request.json, dict) else {}
    name, expiry, errors = ApiToken.check_request(body.get("name", ""), body.get("expires_days"))
    if errors:
        return error(400, errors)
    key, token = ApiToken.create_key(request.user, name, expiry)
    return JsonResponse({"key": key, "token": token.to_dict()}, status=201)


@api(methods=("POST",))
def revoke(request, pk):
    if not ApiToken.revoke(request.user, pk=pk):
        raise Http404
    return JsonResponse({"revoked": pk})
