"""The time budget in a real browser: the form pre-fills the trainer's
measured time model and says where it comes from, takes the budget as wall
time and shows it both ways; the study page counts its budget in one
denominator, shows the time model, and gives a finished study more budget."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studies.models import Study

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_form_shows_the_measured_time_model_and_a_wall_clock_budget(page, user, trainers, make_study):
    earlier = make_study(owner=user, name="earlier run")
    trial = earlier.trials.create(number=0, params={"x": 0.0, "bs": 8, "opt": "sgd"}, iterations=8,
                                  subset_ratio=1.0, state="completed", last_iteration=8,
                                  epoch_seconds=8.0, epoch_count=4, first_report=5.0)
    per_epoch = 2.0 / earlier.meta().plan.epoch_cost(trial.subset_ratio)
    page.login("erin")
    page.goto("/studies/new/")
    page.select_option("#f-trainer", "quick")
    expect(page.locator("#seconds-hint")).to_have_text("measured over 4 epochs of 1 trial")
    expect(page.locator("#startup-hint")).to_have_text("measured over 4 epochs of 1 trial")
    assert float(page.input_value("#f-seconds_per_epoch")) == pytest.approx(per_epoch, rel=1e-2)
    assert float(page.input_value("#f-startup_seconds")) == pytest.approx(3.0, rel=1e-2)

    page.fill("#f-name", "within two hours")
    page.fill("#f-budget", "2h")
    both = page.locator("#preview-budget-both")
    expect(both).to_contain_text("2h 00m of wall time")
    epochs, seconds = int(page.input_value("#f-num_full_iterations")), float(page.input_value("#f-seconds_per_epoch"))
    ratio = 1 + 7200 / (epochs * seconds)
    expect(both).to_contain_text(f"expected_time_ratio {ratio:.3g}".rstrip("0").rstrip("."))
    page.fill("#f-seconds_per_epoch", "3")
    expect(page.locator("#seconds-hint")).to_contain_text("your value is used")
    page.screenshot("30-new-study-time-model")

    page.click("#create-draft")
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    study = Study.objects.get(name="within two hours")
    epochs = study.settings["num_full_iterations"]
    assert study.settings["expected_time_ratio"] == pytest.approx(1 + 7200 / (epochs * 3))
    assert study.startup_seconds == pytest.approx(3.0, rel=1e-2)


def test_the_study_page_counts_its_budget_and_gives_it_more(page, user, trainers, make_study, run_burst):
    study = make_study(owner=user, name="budgeted", start=True, seconds_per_epoch=2.0, startup_seconds=1.0)
    run_burst()
    study.refresh_from_db()
    assert study.state == "completed"
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    expect(page.locator("#study-state")).to_have_text("completed")
    expect(page.locator("#kpi-budget")).to_have_text(re.compile(r"^[\d.,]+ / [\d.,]+$"))
    spent, total = (float(x.replace(",", "")) for x in page.inner_text("#kpi-budget").split(" / "))
    assert 0 < spent <= total * 1.0001
    budget_text = page.inner_text("#kpi-budget").split(" / ")[1]
    expect(page.locator("#progress-text")).to_contain_text(f"of {budget_text} full epochs")
    expect(page.locator("#kpi-speed-sub")).to_contain_text("measured over")
    page.screenshot("31-study-budget")

    page.fill("#more-budget-value", "+1h")
    page.click("#more-budget button[type=submit]")
    expect(page.locator("#study-state")).to_have_text("running")
    study.refresh_from_db()
    assert study.state == "running" and study.settings["expected_time_ratio"] > 2


def test_the_form_plans_for_the_cores_and_the_page_shows_the_deadline(page, user, trainers):
    from runner.models import Worker

    for i in range(8):   # eight CPU workers of the quick trainer on a two-core host
        Worker.objects.create(name=f"cpu-{i}", host="h", cpus=2, queues=["hpopt-quick"])
    page.login("erin")
    page.goto("/studies/new/")
    page.select_option("#f-trainer", "quick")
    page.fill("#f-name", "on two cores")
    page.fill("#f-parallelism", "8")
    page.fill("#f-budget", "1h")
    hint = page.locator("#preview-capacity")
    expect(hint).to_contain_text("run 2 trials at full speed")
    expect(hint).to_contain_text("the study runs 8 at a time")
    page.screenshot("32-new-study-capacity")
    page.fill("#f-parallelism", "2")
    expect(hint).to_have_count(0)
    page.fill("#f-parallelism", "8")
    expect(hint).to_be_visible()

    page.click("#create-draft")
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    study = Study.objects.get(name="on two cores")
    assert study.parallelism == 8 and study.meta().plan.num_workers == 2
    expect(page.locator("#deadline-box")).to_be_hidden()   # a draft's clock has not started
    page.click("#study-controls [data-action=start]")
    expect(page.locator("#study-state")).to_have_text("running")
    study.refresh_from_db()
    shown = study.deadline.astimezone().strftime("%H:%M")
    expect(page.locator("#deadline-box")).to_be_visible()
    expect(page.locator("#deadline")).to_contain_text(shown)
    page.screenshot("33-study-deadline")
