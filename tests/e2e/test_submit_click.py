"""The first click on "Create and start" is never lost (issue 16): with an
invalid value in the field being edited, the press blurred the field, its
error appeared and pushed the buttons down 21 px before the release, so the
click landed beside the button: nothing was submitted and nothing said why.
Clicked with a real mouse (press and release at the button's place), the
button stays put, and the click either creates the study or names the
fields that are wrong and puts the cursor in the first."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studies.models import Study

pytestmark = pytest.mark.django_db(transaction=True)


def open_form(page, name: str) -> None:
    page.login("erin")
    page.goto("/studies/new/")
    page.select_option("#f-trainer", "quick")
    page.fill("#f-name", name)
    expect(page.locator("#preview-budget")).to_be_visible()


def press_and_release(page, selector: str) -> tuple[dict, dict]:
    """Clicks ``selector`` with the mouse as a person does, the focus staying
    where it is until the press; the button's box before the press and at
    the release."""
    button = page.locator(selector)
    button.evaluate("b => b.scrollIntoView({block: 'center'})")
    before = button.bounding_box()
    page.mouse.move(before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(150)   # a person's press lasts about this long: time for a blur's error to show
    during = button.bounding_box()
    page.mouse.up()
    return before, during


def test_a_click_with_an_invalid_field_being_edited_names_the_field(page, user, trainers):
    open_form(page, "clicked once")
    page.click("#f-expected_time_ratio")
    page.fill("#f-expected_time_ratio", "0.5")   # typed; the cursor stays in the field

    before, during = press_and_release(page, "#create-start")

    assert during == before, f"the button moved under the mouse: {before} -> {during}"
    summary = page.locator("#form-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Nothing was saved")
    expect(summary).to_contain_text("Time budget")
    error = page.locator('.field[data-field="expected_time_ratio"] .field-error')
    expect(error).to_contain_text("expected_time_ratio must be")
    expect(page.locator("#f-expected_time_ratio")).to_be_focused()
    page.screenshot("60-new-study-click-names-the-field")
    assert not Study.objects.exists()


def test_a_click_with_a_valid_field_being_edited_creates_the_study(page, user, trainers):
    open_form(page, "clicked")
    page.click("#f-expected_time_ratio")
    page.fill("#f-expected_time_ratio", "4")

    before, during = press_and_release(page, "#create-start")

    assert during == before
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    assert Study.objects.get(name="clicked").state != "draft"
