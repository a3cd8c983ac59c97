"""Browser tests: real headless Chromium (Debian's ``chromium`` package,
driven by Playwright through ``executable_path``; Playwright's own browser
download is not used), against pytest-django's live server, the test Redis,
and real ``manage.py hpopt_worker`` processes (``workers`` in tests/conftest.py).

When Playwright or Chromium is missing the tests FAIL with the command that
installs them: a skipped browser test would hide a broken dashboard.

Screenshots of every page go to test-artifacts/ (gitignored).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop running in the test's thread, and
# Django refuses ORM calls from a thread with a running loop. The tests' own
# ORM calls are plain synchronous code, so the guard does not apply here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
PASSWORD = "e2e-password"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("HPOPT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module; Playwright's event loop ends with it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install playwright (or pip install -e '.[test]')",
                    pytrace=False)
    path = chromium_path()
    if path is None:
        pytest.fail("the browser tests need Chromium: apt-get install -y chromium (or set HPOPT_CHROMIUM)",
                    pytrace=False)
    with sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001 - any launch failure is reported, not skipped
            pytest.fail(f"Chromium at {path} did not start: {exc}", pytrace=False)
        yield chromium
        chromium.close()


class Page:
    """A Playwright page plus what the tests check on every page: no
    JavaScript error, no browser dialog (alert/confirm) ever opened."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url = page, base_url
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # from the top, so sticky bars sit where a person sees them
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def login(self, username: str, password: str = PASSWORD):
        self.goto("/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base_url + "/")

    def __getattr__(self, name):
        return getattr(self.page, name)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(15_000)
    wrapped = Page(context.new_page(), live_server.url)
    yield wrapped
    context.close()
    # 4xx answers the tests provoke on purpose are logged by Chromium as errors
    errors = [e for e in wrapped.errors if "status of 4" not in e]
    assert not errors, f"JavaScript errors: {errors}"
    assert not wrapped.dialogs, f"a browser dialog opened: {wrapped.dialogs}"


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("erin", "erin@example.com", PASSWORD)
