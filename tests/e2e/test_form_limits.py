"""The new-study form shows the size limits (studies.validation.LIMITS) at
the field or row they concern, in the server's words, and saves nothing."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from studies.validation import LIMITS

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_choice_over_the_limits_shows_at_its_row(page, user, workers):
    from studies.models import Study

    workers.start()
    page.login("erin")
    page.goto("/studies/new/")
    page.wait_for_selector("#f-trainer option[value=quick]", state="attached")
    page.select_option("#f-trainer", "quick")
    assert page.get_attribute("#f-name", "maxlength") == str(LIMITS.text)
    page.fill("#f-name", "limits")
    rows = page.locator("#space tbody tr[data-row]")
    expect(rows).to_have_count(3)
    page.click("#add-param")
    row = rows.nth(3)
    row.locator("input[data-key=name]").fill("act")
    row.locator("select[data-key=type]").select_option("choice")
    long = "r" * (LIMITS.text + 1)
    row.locator("input[data-key=choices]").fill(f"relu, {long}")
    row.locator("input[data-key=choices]").press("Tab")
    message = f"choice strings must be at most {LIMITS.text} characters (choice 1 has {LIMITS.text + 1})"
    expect(row.locator(".field-error")).to_have_text(message)   # from the preview, as the user types

    page.click("#create-start")
    expect(page.locator("#form-summary")).to_contain_text("Nothing was saved")
    expect(row.locator(".field-error")).to_have_text(message)
    assert Study.objects.count() == 0

    many = ", ".join(f"c{i}" for i in range(LIMITS.choices + 1))
    row.locator("input[data-key=choices]").fill(many)
    row.locator("input[data-key=choices]").press("Tab")
    expect(row.locator(".field-error")).to_have_text(f"at most {LIMITS.choices} choices (got {LIMITS.choices + 1})")
    page.screenshot("23-new-study-limits")
