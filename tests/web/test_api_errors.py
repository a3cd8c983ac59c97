"""Every error under /api/ is JSON ({"errors": {...}}); other pages keep Django's HTML."""
import pytest

from studies import listing

pytestmark = pytest.mark.django_db


def _json_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    return response.json()["errors"]


def test_an_unknown_api_path_is_a_json_404(api):
    errors = _json_error(api.get("/api/no-such-thing"), 404)
    assert "no such API route: GET /api/no-such-thing" in errors["__all__"]
    _json_error(api.get("/api/studies/1/trials/nothing/here"), 404)


def test_a_wrong_method_is_a_json_405(api):
    assert "not allowed" in _json_error(api.client.put("/api/studies"), 405)["__all__"]


def test_a_crash_is_a_json_500(api, monkeypatch):
    def crash(*_args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(listing, "page_of", crash)
    api.client.raise_request_exception = False
    errors = _json_error(api.get("/api/studies"), 500)
    assert "a bug" not in errors["__all__"]


def test_pages_outside_the_api_keep_html_errors(client, alice, settings):
    client.force_login(alice)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")
    big = client.post("/login/", {"username": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    assert big.status_code == 400 and big["Content-Type"].startswith("text/html")
