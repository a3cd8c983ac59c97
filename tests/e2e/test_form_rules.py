"""The new-study form in a real browser takes its rules and defaults from the
server (the table of hpopt/fields.py, served with the page as "form-rules"):
its inputs start at the library's defaults, its instant checks say what the
server says, and the rules only the library knows come back from the server
all at once, each at its own field or row."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from hpopt.fields import RULES
from studies.validation import form_schema, validate_study

pytestmark = pytest.mark.django_db(transaction=True)

INVALID = re.compile(r"\binvalid\b")


def field_error(page, name):
    return page.locator(f'.field[data-field="{name}"] .field-error')


def server_errors(**data) -> dict:
    """What the server answers for ``data`` (name and trainer filled in)."""
    cleaned, errors = validate_study({"name": "x", "trainer": "t", "full_dataset_size": 1000,
                                      "num_full_iterations": 10, **data}, {"t"})
    assert errors, cleaned
    return errors


def test_the_form_starts_at_the_served_defaults_and_bounds(page, user):
    fields = form_schema()["fields"]
    page.login("erin")
    page.goto("/studies/new/")
    # no worker runs, so no trainer's defaults replace the rules' own
    expect(page.locator("#no-trainers")).to_be_visible()
    page.screenshot("20-new-study-defaults")

    for name in ("expected_time_ratio", "reduction_factor", "kappa"):
        assert float(page.input_value(f"#f-{name}")) == RULES[name].default, name
    checked = 0
    for name, rule in fields.items():
        kind = page.evaluate("id => { const e = document.getElementById(id); return e ? e.type || e.tagName : null; }",
                             f"f-{name}")
        if kind == "number":
            value = page.input_value(f"#f-{name}")
            if rule["default"] is None:
                assert value == "", name
            else:
                assert float(value) == rule["default"], name
            if rule["minimum"] is not None:
                assert float(page.get_attribute(f"#f-{name}", "min")) >= rule["minimum"], name
            if rule["maximum"] is not None:
                assert float(page.get_attribute(f"#f-{name}", "max")) <= rule["maximum"], name
            checked += 1
        elif kind == "checkbox":
            assert page.is_checked(f"#f-{name}") is rule["default"], name
            checked += 1
    assert checked >= 15, checked
    assert page.is_checked("#f-backfill") is RULES["backfill"].default
    assert float(page.input_value("#f-expected_time_ratio-range")) == RULES["expected_time_ratio"].default
    assert page.get_attribute("#f-parallelism", "max") == str(fields["parallelism"]["maximum"])
    for name in ("search_alg", "mode"):
        assert page.eval_on_selector(f"input[name={name}]:checked", "e => e.value") == RULES[name].default
    # the hints that state a rule state the served one
    expect(page.locator('.field[data-field="kappa_decay"] .hint')).to_contain_text(RULES["kappa_decay"].words())


def test_every_broken_rule_shows_at_its_field_as_the_server_words_it(page, user, workers):
    from studies.models import Study

    space = {"lr": {"type": "loguniform", "range": [0.1, 0.01]}}
    expected = server_errors(search_space=space, expected_time_ratio=0.5)
    ratio_message = expected["expected_time_ratio"]
    row_message = expected["search_space.lr"].removeprefix("parameter 'lr': ")
    assert ratio_message == f"expected_time_ratio must be {RULES['expected_time_ratio'].words()} (got 0.5)"

    workers.start()
    page.login("erin")
    page.goto("/studies/new/")
    page.wait_for_selector("#f-trainer option[value=quick]", state="attached")
    page.select_option("#f-trainer", "quick")
    page.fill("#f-name", "rules from the server")
    rows = page.locator("#space tbody tr[data-row]")
    expect(rows).to_have_count(3)
    expect(page.locator("#preview-trials")).to_be_visible()

    # the browser's own check, with the server held back: the served rule, in the server's words
    held = []
    page.route("**/api/plan", lambda route: held.append(route))
    page.fill("#f-expected_time_ratio", "0.5")
    page.press("#f-expected_time_ratio", "Tab")
    expect(field_error(page, "expected_time_ratio")).to_have_text(ratio_message)
    page.wait_for_timeout(600)  # the debounced preview went out (and is held)
    assert held, "the preview was not asked for although every value could be sent"
    page.unroute("**/api/plan")

    # a range only the library can judge: the browser sends it, the server answers
    page.click("#add-param")
    row = rows.nth(3)
    row.locator("input[data-key=name]").fill("lr")
    row.locator("select[data-key=type]").select_option("loguniform")
    row.locator("input[data-key=low]").fill("0.1")
    row.locator("input[data-key=high]").fill("0.01")
    row.locator("input[data-key=high]").press("Tab")
    expect(row.locator(".field-error")).to_have_text(row_message)
    expect(field_error(page, "expected_time_ratio")).to_have_text(ratio_message)
    problems = page.locator("#preview-body li")
    expect(problems.filter(has_text=row_message)).to_have_count(1)
    expect(problems.filter(has_text=ratio_message)).to_have_count(1)
    page.screenshot("21-new-study-server-errors")

    # the submit: the same two, at the same places, and nothing saved
    page.click("#create-start")
    expect(page.locator("#form-summary")).to_contain_text("Nothing was saved")
    expect(row.locator(".field-error")).to_have_text(row_message)
    expect(field_error(page, "expected_time_ratio")).to_have_text(ratio_message)
    expect(page.locator('.field[data-field="expected_time_ratio"]')).to_have_class(INVALID)
    expect(row).to_have_class(INVALID)
    assert Study.objects.count() == 0
    page.screenshot("22-new-study-nothing-saved")

    # fixed, the preview shows a plan again and the messages go
    page.fill("#f-expected_time_ratio", "4")
    row.locator("input[data-key=high]").fill("1")
    expect(page.locator("#preview-trials")).to_be_visible()
    expect(row.locator(".field-error")).to_have_text("")
    expect(field_error(page, "expected_time_ratio")).to_have_text("")
