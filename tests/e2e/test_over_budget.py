"""Starting a plan far over its budget asks first (issue 16: a plan using
16,667% of its budget started at once). Cancel leaves nothing saved; "Start
anyway" starts it; a plan within its budget starts without a question."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studies.models import Study

pytestmark = pytest.mark.django_db(transaction=True)


def fill_form(page, name: str, num_trials: str) -> None:
    page.goto("/studies/new/")
    page.select_option("#f-trainer", "quick")
    page.fill("#f-name", name)
    if num_trials:
        page.click("#advanced summary")
        page.fill("#f-num_trials", num_trials)
        page.locator("#f-num_trials").blur()


def test_a_plan_over_its_budget_starts_only_when_confirmed(page, user, trainers):
    page.login("erin")
    fill_form(page, "far too many trials", "400")
    expect(page.locator("#preview-budget")).not_to_have_text("100%")
    used = int(page.locator("#preview-budget").inner_text().rstrip("%"))
    assert used > 110, used

    page.click("#create-start")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("of its budget")
    expect(dialog).to_contain_text("Start it anyway?")
    page.screenshot("42-over-budget-confirm")
    dialog.locator("button[value=cancel]").click()
    expect(page.locator("#submit-status")).to_contain_text("Not started")
    assert not Study.objects.filter(name="far too many trials").exists(), "a cancelled start saved nothing"

    page.click("#create-start")
    expect(dialog).to_be_visible()
    page.click("#confirm-ok")
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    assert Study.objects.get(name="far too many trials").state != "draft"


def test_a_plan_within_its_budget_starts_without_a_question(page, user, trainers):
    page.login("erin")
    fill_form(page, "auto config", "")
    expect(page.locator("#preview-budget")).to_be_visible()

    page.click("#create-start")
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    assert Study.objects.get(name="auto config").state != "draft"


def test_a_draft_over_its_budget_starts_from_its_page_only_when_confirmed(page, user, make_study):
    # the same question as the form's, from the draft's own Start button (its stored plan)
    draft = make_study(owner=user, name="draft far over", num_trials=400, start=False)
    assert draft.plan["budget_used"] > 1.1, draft.plan["budget_used"]
    page.login("erin")
    page.goto(f"/studies/{draft.pk}/")
    start = page.locator('#study-controls [data-action="start"]')
    start.click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"This plan uses {round(draft.plan['budget_used'] * 100)}% of its budget")
    expect(dialog).to_contain_text("Start it anyway?")
    page.screenshot("43-draft-over-budget-confirm")
    dialog.locator("button[value=cancel]").click()
    expect(dialog).to_be_hidden()
    expect(start).to_be_visible()
    draft.refresh_from_db()
    assert draft.state == "draft", "a cancelled start started nothing"

    start.click()
    expect(dialog).to_be_visible()
    page.click("#confirm-ok")
    expect(page.locator("#study-state")).not_to_have_text("draft")
    draft.refresh_from_db()
    assert draft.state != "draft"
