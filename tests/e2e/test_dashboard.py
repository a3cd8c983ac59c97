"""The dashboard in a real browser, against a live server, the test Redis and
real worker processes: build a study in the form, watch it run, steer it,
download the result; the ASHA board live; typed text never runs as code."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

XSS = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(2)>"


def trial_row(page, number=None, state=None, extra=""):
    sel = "#trials tbody tr"
    if number is not None:
        sel += f'[data-number="{number}"]'
    if state is not None:
        sel += f'[data-state="{state}"]'
    return page.locator(sel + extra)


def test_a_study_is_built_started_steered_and_downloaded(page, user, workers):
    from studies.models import Study

    for _ in range(2):
        workers.start(HPOPT_TEST_EPOCH_SECONDS="0.8")

    # log in
    page.goto("/")
    expect(page.locator("#id_username")).to_be_visible()
    page.screenshot("01-login")
    page.login("erin")
    expect(page.locator("#studies td.empty")).to_contain_text("No studies yet")

    # the form: trainer, name, the trainer's space pre-filled
    page.click("#new-study")
    page.wait_for_selector("#f-trainer option[value=slow]", state="attached")
    page.select_option("#f-trainer", "slow")
    rows = page.locator("#space tbody tr[data-row]")
    expect(rows).to_have_count(3)
    expect(rows.nth(1).locator("select[data-key=type]")).to_have_value("qloguniform")
    page.fill("#f-name", "e2e lifecycle")

    # an invalid range shows the library's rule at its row (the server's
    # answer to the preview and to the submit), and nothing is saved
    x_row = rows.nth(0)
    x_row.locator("input[data-key=low]").fill("3")
    x_row.locator("input[data-key=low]").press("Tab")
    expect(x_row.locator(".field-error")).to_contain_text("low must be < high (got low=3, high=2)")
    page.click("#create-start")
    expect(page.locator("#form-summary")).to_contain_text("Nothing was saved")
    assert Study.objects.count() == 0
    expect(x_row.locator(".field-error")).to_contain_text("low must be < high (got low=3, high=2)")
    expect(page.locator("#preview-problem")).to_contain_text("The library rejects these settings")
    page.screenshot("02a-new-study-invalid")

    # a rule only the server knows comes back inline from the API (ASHA's bracket count)
    page.click("label:has(input[name=search_alg][value=asha])")
    page.click("#advanced summary")
    page.fill("#f-num_brackets", "50")
    x_row.locator("input[data-key=low]").fill("-2")
    expect(x_row.locator(".field-error")).to_have_text("")
    expect(page.locator('.field[data-field="num_brackets"] .field-error')).to_contain_text(
        "num_brackets must be between 1 and")
    page.fill("#f-num_brackets", "")
    page.click("label:has(input[name=search_alg][value=bayes_opt])")

    # the live preview follows the time budget
    page.fill("#f-parallelism", "2")
    wall = page.locator("#preview-wall")
    expect(wall).to_be_visible()
    page.wait_for_timeout(600)  # let the debounced preview settle
    before = wall.text_content()
    page.fill("#f-expected_time_ratio", "9")
    expect(wall).not_to_have_text(before)
    page.fill("#f-num_trials", "5")
    page.fill("#f-max_iterations", "8")
    expect(page.locator("#preview-trials")).to_have_text("5")
    page.screenshot("02-new-study")

    # start it and watch trials appear live
    page.click("#create-start")
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    study = Study.objects.get(name="e2e lifecycle")
    expect(page.locator("#study-state")).to_have_text("running")
    expect(page.locator("#live")).to_be_visible()
    expect(trial_row(page, state="running").first).to_be_visible()

    # pause a running trial, see it paused, resume it. The trials to steer are
    # picked early in their run, so they cannot finish before the click lands.
    def early_running_trial(exclude=()):
        return wait_for(lambda: study.trials.filter(state="running", last_iteration__lte=3)
                        .exclude(number__in=exclude).order_by("last_iteration").first(),
                        timeout=30, message="a running trial in its first epochs")

    paused = str(early_running_trial().number)
    trial_row(page, paused).locator("button[data-action=pause]").click()
    expect(trial_row(page, paused, "paused")).to_have_count(1, timeout=20_000)
    page.screenshot("03-study-trial-paused")
    trial_row(page, paused).locator("button[data-action=resume]").click()
    expect(trial_row(page, paused, "paused")).to_have_count(0)

    # kill another one, through the confirmation dialog
    killed = str(early_running_trial(exclude=[int(paused)]).number)
    trial_row(page, killed).locator("button[data-action=kill]").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.click("#confirm-ok")
    expect(trial_row(page, killed, "killed")).to_have_count(1)
    page.screenshot("04-study-running")

    # the study ends by itself and the page stops polling
    expect(page.locator("#study-state")).to_have_text("completed", timeout=90_000)
    expect(page.locator("#live")).to_be_hidden()
    page.screenshot("05-study-completed")
    resumed = study.trials.get(number=int(paused))
    assert resumed.state == "completed" and resumed.last_iteration == 8, (resumed.state, resumed.last_iteration)
    assert study.trials.get(number=int(killed)).state == "killed"

    # downloads: best config, CSV, the Python dict
    best = Study.objects.get(pk=study.pk).best_trial()
    with page.expect_download() as download:
        page.click("#dl-best")
    config = json.loads(open(download.value.path()).read())
    assert config["trial"] == best.number
    assert config["score"] == best.best_score
    assert config["params"] == best.params
    assert config["study"]["name"] == "e2e lifecycle" and config["study"]["settings"]["num_trials"] == 5
    with page.expect_download() as download:
        page.click("#dl-csv")
    table = list(csv.reader(io.StringIO(open(download.value.path()).read())))
    assert table[0][:4] == ["trial", "x", "bs", "opt"] and len(table) == 1 + 5
    page.click("#copy-python")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.splitlines()[1] == "params = {"
    assert f"    'opt': '{best.params['opt']}'," in copied and f"    'bs': {best.params['bs']}," in copied

    # the trial page: scores chart, params, log
    page.click(f'#trials a[href="/trials/{best.pk}/"]')
    expect(page.locator("#params tbody tr")).to_have_count(3)
    expect(page.locator("#trial-state")).to_have_text("completed")
    page.screenshot("06-trial")

    # the list and the workers
    page.goto("/")
    expect(page.locator("#studies tbody tr[data-state=completed] td.name")).to_contain_text("e2e lifecycle")
    page.screenshot("07-studies")
    page.goto("/workers/")
    expect(page.locator("#workers tbody tr")).to_have_count(2)
    page.screenshot("08-workers")


def test_the_asha_board_fills_live(page, user, workers, make_study):
    from studies.models import Study

    for _ in range(2):
        workers.start(HPOPT_TEST_EPOCH_SECONDS="0.3")
    study = make_study(owner=user, name="slow ASHA", trainer="slow", num_brackets=2, expected_time_ratio=2.5,
                       reduction_factor=2, start=True)
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    brackets = page.locator("#brackets .bracket")
    expect(brackets).to_have_count(2)
    for b, rungs in enumerate(study.plan["brackets"]):
        expect(brackets.nth(b).locator(".rung-col")).to_have_count(len(rungs) + 1)
    expect(page.locator("#brackets .tchip.c-running").first).to_be_visible()
    expect(page.locator("#brackets .tchip.c-continued").first).to_be_visible()
    page.screenshot("09-asha-live")
    expect(page.locator("#study-state")).to_have_text("completed", timeout=90_000)
    page.wait_for_timeout(300)
    page.screenshot("10-asha-completed")
    for width, height in ((1920, 1080), (1280, 800)):  # a wide monitor, a laptop
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        page.screenshot(f"10-asha-completed-{width}")
    study = Study.objects.get(pk=study.pk)
    full = study.plan["max_iterations"]
    for b in range(2):
        # a full-length trial that completed sits in the full column; a backfill trial handed fewer epochs at the
        # budget's end (which of them get one depends on timing) in the short column
        done = study.trials.filter(bracket=b, state="completed")
        expect(brackets.nth(b).locator('.rung-col[data-column="full"] .tchip.c-completed')).to_have_count(
            done.filter(iterations=full).count())
        expect(brackets.nth(b).locator('.rung-col[data-column="short"] .tchip.c-short')).to_have_count(
            done.filter(iterations__lt=full).count())
    assert study.trials.filter(state="stopped").exists()
    expect(page.locator("#brackets .tchip.c-stopped").first).to_be_visible()
    expect(page.locator("#brackets .rung-head .cutoff").first).to_be_visible()


def test_typed_text_is_shown_as_text_and_never_runs(page, user, workers):
    from studies.models import Study

    workers.start()
    page.login("erin")
    page.goto("/studies/new/")
    page.wait_for_selector("#f-trainer option[value=quick]", state="attached")
    page.select_option("#f-trainer", "quick")
    page.fill("#f-name", XSS)
    choices = page.locator("#space tbody tr[data-row]").nth(2).locator("input[data-key=choices]")
    choices.fill(f"{XSS}, {XSS_IMG}")
    page.click("#advanced summary")
    page.fill("#f-num_trials", "3")
    expect(page.locator("#preview-trials")).to_have_text("3")
    page.click("#create-start")
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    study = Study.objects.get()
    assert study.name == XSS and study.space["opt"]["range"] == [XSS, XSS_IMG]

    expect(page.locator("#study-name")).to_have_text(XSS)
    expect(page.locator("#study-state")).to_have_text("completed", timeout=60_000)
    values = page.locator("#trials .kv-pill .v").all_text_contents()
    assert set(values) & {XSS, XSS_IMG}, values
    page.click("#settings summary")
    expect(page.locator("#space-table")).to_contain_text(json.dumps([XSS, XSS_IMG]))
    page.screenshot("11-xss-study")
    injected = "[...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(')).length" \
               " + document.querySelectorAll('main img').length"
    assert page.evaluate(injected) == 0

    trial = study.trials.order_by("number").first()
    page.goto(f"/trials/{trial.pk}/")
    expect(page.locator("#params")).to_contain_text(trial.params["opt"])
    assert page.evaluate(injected) == 0
    page.goto("/")
    expect(page.locator("#studies td.name a")).to_have_text(XSS)
    assert page.evaluate(injected) == 0
    page.goto("/studies/new/")
    page.wait_for_selector("#f-trainer option[value=quick]", state="attached")
    expect(page.locator("#f-trainer")).to_have_value("quick")  # the last trainer used is the default
    assert page.evaluate(injected) == 0
    # the page fixture fails the test if any dialog (alert) opened
