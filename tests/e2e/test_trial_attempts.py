"""The trial page lists every attempt (issue 16): a trial that ran out of GPU
memory in its first attempt and completed in its second shows both runs,
how each ended, where each ran, and each one's own output and traceback.
Its Duration KPI is the time over all attempts: a trial that trained two
minutes over three attempts once showed "DURATION 10s"."""
import datetime

from playwright.sync_api import expect

from tests.conftest import study_data


def test_the_trial_page_shows_every_attempt_with_its_output(page, user, run_burst, trainers):
    from studies import control
    from studies.models import Trial
    from studies.validation import validate_study

    cleaned, errors = validate_study(study_data(trainer="oom-once", search_alg="bayes_opt", num_trials=1,
                                                num_init_trial=1, parallelism=1, start=True), set(trainers))
    assert not errors, errors
    study = control.create(user, cleaned)
    run_burst()
    trial = Trial.objects.get(study=study)
    assert trial.state == "completed"
    # the attempts ran for under a second: give them 50 s and 70 s, two minutes together;
    # the first ran on a GPU worker (the burst worker here records no device: a CPU)
    first, second = trial.attempts.order_by("number")
    first.worker, first.host, first.gpu, first.device = "gpu-box:4242", "gpu-box", "0", "GPU 0 (NVIDIA A100, 40960 MiB)"
    first.save(update_fields=["worker", "host", "gpu", "device"])
    for attempt, seconds in ((first, 50), (second, 70)):
        attempt.ended = attempt.started + datetime.timedelta(seconds=seconds)
        attempt.save(update_fields=["ended"])
    trial.finished = second.ended
    trial.save(update_fields=["finished"])

    page.login("erin")
    page.goto(f"/trials/{trial.pk}/")
    rows = page.locator("#attempts tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td.outcome")).to_have_text("out of GPU memory: queued again")
    expect(rows.nth(1).locator("td.outcome")).to_have_text("completed")
    expect(rows.nth(0).locator("td.num")).to_have_text("50s")
    expect(rows.nth(1).locator("td.num")).to_have_text("1m 10s")
    expect(page.locator("#kpi-duration")).to_have_text("2m 00s")   # the sum, not the last attempt's 1m 10s
    expect(rows.nth(0).locator("td.mono")).to_have_text("gpu-box:4242")
    expect(rows.nth(0).locator("td.device")).to_have_text("GPU 0 (NVIDIA A100, 40960 MiB)")
    assert second.worker
    expect(rows.nth(1).locator("td.mono")).to_have_text(second.worker)
    expect(rows.nth(1).locator("td.device")).to_have_text("CPU")
    expect(page.locator("#kpi-started")).to_contain_text("over 2 attempts")
    expect(page.locator("#kpi-attempt")).to_have_text("2 · 1 OOM")

    boxes = page.locator("details.attempt-output")
    expect(boxes).to_have_count(2)
    latest, first = boxes.nth(0), boxes.nth(1)   # the latest attempt first, open
    expect(latest.locator("pre.log:not(.error-log)")).to_contain_text("attempt 2 starts")
    first.locator("summary").click()
    expect(first.locator("pre.error-log")).to_contain_text("CUDA out of memory")
    expect(first.locator("pre.log:not(.error-log)")).to_contain_text("attempt 1 starts")
    page.screenshot("12-trial-attempts")
