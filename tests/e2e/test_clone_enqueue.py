"""Issue 16, study lifecycle, in the browser: "New study from this one"
opens the builder pre-filled from the study and saves a new study (the
source unchanged); a draft is edited in the same builder; "Try a config"
queues a hand-picked trial that a worker runs and the table and chart mark."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studies.models import Study

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = dict(name="bo sweep", search_alg="bayes_opt", mode="min", num_init_trial=4, kappa=3.5, seed=11,
              parallelism=3, num_trials=9, batch_size_name="bs", seconds_per_epoch=2.5, hard_budget=False)


def definition_of(study):
    study.refresh_from_db()
    return {f: getattr(study, f) for f in ("trainer", "algorithm", "settings", "initial_space", "plan",
                                            "parallelism", "seconds_per_epoch", "startup_seconds")}


def test_a_clone_prefills_the_builder_and_saves_a_new_study(page, user, trainers, make_study):
    source = make_study(owner=user, start=True, **SOURCE)
    before = definition_of(source)
    page.login("erin")
    page.goto(f"/studies/{source.pk}/")
    page.click("#clone-study")
    page.wait_for_url(re.compile(rf"/studies/new/\?from={source.pk}$"))
    expect(page.locator("h1")).to_have_text("New study from bo sweep")
    expect(page.locator("#f-name")).to_have_value("bo sweep (copy)")
    expect(page.locator("#f-trainer")).to_have_value("quick")
    expect(page.locator("input[name=search_alg][value=bayes_opt]")).to_be_checked()
    expect(page.locator("input[name=mode][value=min]")).to_be_checked()
    for field, value in [("kappa", "3.5"), ("num_init_trial", "4"), ("seed", "11"), ("num_trials", "9"),
                         ("parallelism", "3"), ("seconds_per_epoch", "2.5"), ("expected_time_ratio", "2")]:
        expect(page.locator(f"#f-{field}")).to_have_value(value)
    expect(page.locator("#f-batch_size_name")).to_have_value("bs")
    rows = page.locator("#space tbody tr[data-row]")
    expect(rows).to_have_count(3)
    expect(rows.nth(2).locator("input[data-key=name]")).to_have_value("opt")
    expect(page.locator("#preview-trials")).to_have_text("9")
    page.click("#advanced summary")
    page.screenshot("50-clone-prefilled")

    # editable before saving: a narrower x, another name
    rows.nth(0).locator("input[data-key=high]").fill("1")
    page.fill("#f-name", "bo sweep, narrower")
    page.click("#create-draft")
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    clone = Study.objects.get(name="bo sweep, narrower")
    assert clone.pk != source.pk and clone.state == "draft"
    assert clone.initial_space["x"] == {"type": "uniform", "range": [-2.0, 1.0]}
    after = definition_of(clone)
    assert after["settings"] == {**before["settings"], "search_space": clone.initial_space}
    assert (after["parallelism"], after["seconds_per_epoch"], after["algorithm"]) == (3, 2.5, "bayes_opt")
    assert definition_of(source) == before, "the source did not change"

    # the new draft is edited in the same builder
    page.click("#edit-draft")
    page.wait_for_url(re.compile(rf"/studies/{clone.pk}/edit/$"))
    expect(page.locator("h1")).to_have_text("Edit draft")
    expect(page.locator("#f-name")).to_have_value("bo sweep, narrower")
    expect(rows.nth(0).locator("input[data-key=high]")).to_have_value("1")
    page.click("#advanced summary")
    page.fill("#f-kappa", "-1")
    # the preview names the broken rule at its field (wait for it: it moves the buttons)
    expect(page.locator('.field[data-field="kappa"] .field-error')).to_contain_text("kappa must be")
    page.click("#create-draft")
    expect(page.locator("#form-summary")).to_contain_text("Nothing was saved")
    page.fill("#f-kappa", "1.5")
    page.fill("#f-seed", "")
    # and its search space: a narrower x, a third optimizer
    rows.nth(0).locator("input[data-key=low]").fill("-1")
    rows.nth(2).locator(".range-fields input").fill("sgd, adam, rmsprop")
    expect(page.locator('.field[data-field="kappa"] .field-error')).to_have_text("")
    expect(page.locator("#preview-trials")).to_have_text("9")
    page.screenshot("51-edit-draft")
    page.click("#create-draft")
    page.wait_for_url(re.compile(rf"/studies/{clone.pk}/$"))
    clone.refresh_from_db()
    assert (clone.settings["kappa"], clone.settings["seed"], clone.state) == (1.5, None, "draft")
    assert clone.initial_space["x"] == {"type": "uniform", "range": [-1.0, 1.0]}
    assert clone.initial_space["opt"] == {"type": "choice", "range": ["sgd", "adam", "rmsprop"]}
    assert clone.settings["search_space"] == clone.initial_space
    expect(page.locator("#space-table")).to_contain_text("rmsprop")   # the draft's page shows the saved space
    assert Study.objects.count() == 2, "an edit makes no new study"


def test_a_config_tried_from_the_page_runs_as_a_hand_picked_trial(page, user, trainers, workers, make_study):
    workers.start(HPOPT_TEST_EPOCH_SECONDS="0.15")
    study = make_study(owner=user, name="slow bo", trainer="slow", search_alg="bayes_opt", num_trials=5,
                       num_init_trial=2, parallelism=1, hard_budget=False, start=True)
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    card = page.locator("#enqueue")
    expect(card).to_be_visible()
    expect(card.locator("[data-param]")).to_have_count(3)

    # a value off the grid is named at its input, and nothing is queued
    page.fill("#enqueue-x", "0")
    page.fill("#enqueue-bs", "100")
    page.select_option("#enqueue-opt", label="adam")
    page.click("#enqueue-submit")
    expect(card.locator('.field[data-field="params.bs"] .field-error')).to_have_text(
        "parameter 'bs': 100 is not on the grid 8 + k*8 (nearest: 96 or 104)")
    assert not study.trials.filter(hand_picked=True).exists()
    page.screenshot("52-try-config-invalid")

    page.fill("#enqueue-bs", "96")
    page.click("#enqueue-submit")
    expect(page.locator("#toasts")).to_contain_text("queued (hand-picked")
    expect(card.locator('.field[data-field="params.bs"] .field-error')).to_have_text("")
    picked = study.trials.get(hand_picked=True)
    row = page.locator(f'#trials tbody tr[data-number="{picked.number}"]')
    expect(row.locator(".tag.hand")).to_have_text("hand-picked")
    expect(row).to_have_attribute("data-state", "completed", timeout=60_000)
    picked.refresh_from_db()
    assert picked.params == {"x": 0.0, "bs": 96, "opt": "adam"}
    assert picked.iterations == study.plan["max_iterations"] and picked.attempts.get().host
    # the chart draws it as a star
    styles = page.evaluate("""() => Chart.getChart('chart-best').data.datasets[1].pointStyle""")
    assert "star" in styles
    page.screenshot("53-hand-picked-trial")
