"""The New-study form and the demo start from the same defaults, the
library's (issue 16: the form offered eta = 2 while the demo ran eta = 3),
and the time fields' hints say whose number is used: the measured one until
the user types their own, then theirs."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from hpopt.fields import RULES

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_form_and_the_demo_use_the_librarys_reduction_factor(page, user, trainers):
    from hpopt_web.demo import prepare_demo

    page.login("erin")
    page.goto("/studies/new/")
    page.select_option("#f-trainer", "quick")
    page.click("label:has(input[name=search_alg][value=asha])")
    page.click("#advanced summary")
    expect(page.locator("#f-reduction_factor")).to_be_visible()
    form_eta = int(page.input_value("#f-reduction_factor"))
    expect(page.locator("#preview-body h3")).to_have_text(f"ASHA rungs (η = {form_eta})")

    _, demo = prepare_demo()

    assert form_eta == RULES["reduction_factor"].default
    assert demo.settings["reduction_factor"] == form_eta == demo.plan["reduction_factor"]


def test_the_time_hints_say_the_users_value_is_used_once_typed(page, user, trainers, make_study):
    earlier = make_study(owner=user, name="earlier run")
    earlier.trials.create(number=0, params={"x": 0.0, "bs": 8, "opt": "sgd"}, iterations=8, subset_ratio=1.0,
                          state="completed", last_iteration=8, epoch_seconds=8.0, epoch_count=4, first_report=5.0)
    page.login("erin")
    page.goto("/studies/new/")
    page.select_option("#f-trainer", "quick")
    measured = "measured over 4 epochs of 1 trial"
    expect(page.locator("#seconds-hint")).to_have_text(measured)
    expect(page.locator("#startup-hint")).to_have_text(measured)
    measured_seconds = page.input_value("#f-seconds_per_epoch")

    # typed with the keyboard, as a person does
    page.click("#f-seconds_per_epoch")
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    expect(page.locator("#seconds-hint")).to_have_text(f"your value is used (measured: {measured_seconds} s)")
    expect(page.locator("#startup-hint")).to_have_text(measured)
    page.click("#f-startup_seconds")
    page.keyboard.press("Control+A")
    page.keyboard.type("12")
    expect(page.locator("#startup-hint")).to_contain_text("your value is used")
    page.screenshot("61-new-study-your-time-values")
