"""A Python client for the dashboard's JSON API (docs/api.md, "Python client").

Standard library only (urllib, json), so a notebook or a CI job can copy
this one file or ``pip install`` the project::

    from hpopt_web.client import Client
    hp = Client()                      # HPOPT_URL and HPOPT_TOKEN from the environment
    study = hp.create_study({...}, start=True)
    for snap in hp.watch(study["id"]):
        print(snap["state"], f"{snap['progress']:.0%}")
    print(hp.best_config(study["id"])["params"])

Every answer the server refuses becomes an ``ApiError`` carrying the API's
``{"errors": {field: message}}``. Django is never imported here.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

DEFAULT_URL = "http://127.0.0.1:8000"
#: the study states after which nothing runs any more: hpopt.status.StudyState.is_finished
#: (tests/web/test_client_rules.py keeps the two equal; importing hpopt would load numpy)
ENDED = frozenset({"completed", "killed", "failed"})
#: answers worth polling through: the server restarting, the database away (503 with Retry-After)
TRANSIENT = frozenset({None, 502, 503, 504})


class ApiError(Exception):
    """An answer the server refused (``status`` 4xx/5xx) or no answer at all
    (``status`` None). ``errors`` is the API's ``{field: message}``
    (``__all__`` for errors of no field); ``field`` and ``message`` are its
    first entry."""

    def __init__(self, status: int | None, errors: dict, method: str = "", path: str = ""):
        self.status, self.errors, self.method, self.path = status, errors, method, path
        self.field, self.message = next(iter(errors.items()), ("__all__", ""))
        detail = "; ".join(msg if field == "__all__" else f"{field}: {msg}" for field, msg in errors.items())
        where = f"{method} {path}: " if path else ""
        super().__init__(f"{where}{status or 'no answer'}: {detail}")


class StudyTimeout(TimeoutError):
    """``wait``/``watch`` ran out of time; ``snapshot`` is the last progress seen."""

    def __init__(self, study_id: int, timeout: float, snapshot: dict | None):
        self.study_id, self.snapshot = study_id, snapshot
        state = snapshot["state"] if snapshot else "unknown"
        super().__init__(f"study {study_id} had not ended after {timeout:g} s (it is {state})")


def snapshot_of(study: dict) -> dict:
    """What ``watch`` yields: the study's progress at one moment, plus the whole study."""
    return {
        "id": study["id"], "state": study["state"], "ended": study["state"] in ENDED,
        "progress": study.get("progress"), "counts": study.get("counts", {}),
        "best": study.get("best"), "eta_seconds": study.get("eta_seconds"),
        "budget": study.get("budget"), "study": study,
    }


class Client:
    """The API as methods. ``url`` defaults to HPOPT_URL (else
    http://127.0.0.1:8000), ``token`` to HPOPT_TOKEN (a key from the API
    tokens page or ``hpopt-web token USER``)."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0):
        self.url = (url or os.environ.get("HPOPT_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("HPOPT_TOKEN", "")
        if not self.token:
            raise ValueError("no API token: set HPOPT_TOKEN or pass token= (make one at /tokens/ "
                             "or with 'hpopt-web token USERNAME')")
        self.timeout = timeout

    # -- transport -----------------------------------------------------------------
    def request(self, method: str, path: str, body: dict | None = None, params: dict | None = None):
        """The answer's JSON; ApiError for any refusal or no answer."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        full = f"/api/{path.lstrip('/')}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + full, data=data, method=method, headers={
            "Authorization": f"Token {self.token}", "Accept": "application/json",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, _errors_of(exc.read()), method, full) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(None, {"__all__": f"cannot reach {self.url}: {reason}"}, method, full) from None

    def get(self, path: str, **params):
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict | None = None):
        return self.request("POST", path, body=body if body is not None else {})

    # -- studies -------------------------------------------------------------------
    def create_study(self, spec: dict | None = None, start: bool = False, **fields) -> dict:
        """POST /api/studies with ``spec`` and ``fields`` (the same keys);
        ``start=True`` starts it at once. Returns the study."""
        return self.post("studies", {**(spec or {}), **fields, "start": start})

    def study(self, study_id: int) -> dict:
        return self.get(f"studies/{study_id}")["study"]

    def studies(self, q: str | None = None, state: str | None = None, sort: str | None = None) -> list[dict]:
        """Every study you see (the list's rows), page after page."""
        rows, page = [], 1
        while True:
            answer = self.get("studies", q=q, state=state, sort=sort, page=page, per_page=100)
            rows += answer["studies"]
            if page >= answer["pages"]:
                return rows
            page += 1

    def start(self, study_id: int) -> dict:
        return self.post(f"studies/{study_id}/start")

    def pause(self, study_id: int) -> dict:
        return self.post(f"studies/{study_id}/pause")

    def resume(self, study_id: int) -> dict:
        return self.post(f"studies/{study_id}/resume")

    def kill(self, study_id: int) -> dict:
        return self.post(f"studies/{study_id}/kill")

    def add_budget(self, study_id: int, **change) -> dict:
        """One of expected_time_ratio=, budget="2h" or add_trials=."""
        return self.post(f"studies/{study_id}/budget", change)

    def best_config(self, study_id: int) -> dict:
        """The best trial's config (ApiError 404 before any score)."""
        return self.get(f"studies/{study_id}/best-config")

    def trials(self, study_id: int, page_size: int = 500, **filters) -> list[dict]:
        """Every trial matching ``filters`` (the trial table's: sort, state,
        score_min, q, ...; ``**{"param.lr.max": 0.01}`` for a parameter), in
        ``sort`` order (default by number), fetched page after page."""
        filters.setdefault("sort", "number")
        rows: list[dict] = []
        while True:
            answer = self.get(f"studies/{study_id}/trials", offset=len(rows), limit=page_size, **filters)
            rows += answer["trials"]
            if not answer["trials"] or len(rows) >= answer["total"]:
                return rows

    def trial(self, trial_id: int) -> dict:
        """One trial with its scores, log and attempts."""
        return self.get(f"trials/{trial_id}")

    # -- following a study ------------------------------------------------------------
    def watch(self, study_id: int, interval: float = 2.0, timeout: float | None = None,
              only_changes: bool = True) -> Iterator[dict]:
        """Yields progress snapshots (``snapshot_of``) every ``interval``
        seconds until the study has ended (the last one yielded is the ended
        study); with ``only_changes`` a snapshot equal to the previous one is
        not yielded again. A server that is briefly away (no answer, 502-504)
        is polled again; ``timeout`` raises StudyTimeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor, last, seen = None, None, None
        while True:
            try:
                # after the first answer only what changed since (docs/api.md, "since")
                answer = self.get(f"studies/{study_id}", since=cursor)
                cursor, last = answer.get("cursor", cursor), snapshot_of(answer["study"])
            except ApiError as exc:
                if exc.status not in TRANSIENT:
                    raise
            if last is not None:
                key = _progress_key(last)
                if not only_changes or key != seen or last["ended"]:
                    seen = key
                    yield last
                if last["ended"]:
                    return
            if deadline is not None and time.monotonic() >= deadline:
                raise StudyTimeout(study_id, timeout, last)
            pause = interval if deadline is None else min(interval, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)

    def wait(self, study_id: int, timeout: float | None = None, interval: float = 2.0,
             on_progress: Callable[[dict], None] | None = None) -> dict:
        """Blocks until the study has ended and returns it; ``on_progress``
        gets each snapshot on the way. StudyTimeout after ``timeout`` seconds."""
        snap = None
        for snap in self.watch(study_id, interval=interval, timeout=timeout):
            if on_progress is not None:
                on_progress(snap)
        return snap["study"]


def _progress_key(snap: dict) -> str:
    return json.dumps([snap["state"], snap["progress"], snap["counts"], snap["best"]], sort_keys=True)


def _errors_of(raw: bytes) -> dict:
    """The API's ``errors`` object; a body that is not one (a proxy's HTML
    page) becomes its first line under ``__all__``."""
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw.decode("utf-8", "replace").strip()
        return {"__all__": text.splitlines()[0][:300] if text else "(empty answer)"}
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict) and errors:
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in errors.items()}
    return {"__all__": json.dumps(body)[:300]}
