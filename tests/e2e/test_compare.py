"""Selecting, comparing and reading curves in a real browser (issue 15): a
ticked trial is highlighted in every chart; the compare page marks the param
that differs; the epoch axis turns logarithmic and zooms; killed and stopped
trials keep their own dash and legend entry; a resumed trial's second attempt
is marked; the scores are named "final score" and "best epoch score"."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.trial_rows import add_trial

pytestmark = pytest.mark.django_db(transaction=True)

CURVES = "Chart.getChart('chart-curves')"


def rising(top, n=8, end=None):
    curve = [round(top * (1 - 0.6 ** e), 4) for e in range(1, n + 1)]
    if end is not None:
        curve[-1] = end
    return curve


@pytest.fixture
def study(user, make_study):
    from studies.models import Attempt, Score, Study

    s = make_study(owner=user, name="curves", search_alg="bayes_opt", num_trials=6, max_iterations=8)
    t0 = timezone.now() - timedelta(hours=1)
    Study.objects.filter(pk=s.pk).update(state="completed", started=t0, finished=timezone.now())
    s.refresh_from_db()
    # trial 0: a lucky epoch (0.95) but trained on to 0.80, the final score that ranks it
    add_trial(s, 0, {"x": 0.1, "bs": 32, "opt": "adam"}, rising(0.9, end=0.8)[:-2] + [0.95, 0.80],
              finished=t0 + timedelta(minutes=10))
    add_trial(s, 1, {"x": 0.1, "bs": 64, "opt": "adam"}, rising(0.85), finished=t0 + timedelta(minutes=12))
    add_trial(s, 2, {"x": -1.0, "bs": 16, "opt": "sgd"}, rising(0.5, n=3), state="stopped", iterations=8,
              finished=t0 + timedelta(minutes=13))
    for n in (3, 4):
        add_trial(s, n, {"x": 1.5, "bs": 8 * n, "opt": "sgd"}, rising(0.3 + 0.1 * n, n=4), state="killed",
                  iterations=8, finished=t0 + timedelta(minutes=14))
    # trial 5 paused after epoch 4 and resumed: its second attempt began at epoch 5
    resumed = add_trial(s, 5, {"x": 0.5, "bs": 32, "opt": "adam"}, rising(0.7), attempt=2,
                        finished=t0 + timedelta(minutes=30))
    Attempt.objects.create(trial=resumed, number=1, started=t0, outcome="paused")
    Attempt.objects.create(trial=resumed, number=2, started=t0 + timedelta(minutes=20), outcome="completed")
    for epoch in range(1, 9):
        when = t0 + timedelta(minutes=epoch if epoch <= 4 else 20 + epoch)
        Score.objects.filter(trial=resumed, iteration=epoch).update(created=when)
    return s


def dataset(page, number):
    return page.evaluate(f"(() => {{ const d = {CURVES}.data.datasets.find((d) => d.trial === {number}); "
                         "return {width: d.borderWidth, color: d.borderColor, dash: d.borderDash}; })()")


def tick_labels(page):
    return page.evaluate(f"{CURVES}.scales.x.ticks.map((t) => t.label).filter((l) => l !== '')")


def test_selection_highlights_curves_and_scores_and_opens_the_compare_page(page, user, study):
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(6)
    page.wait_for_function(f"{CURVES} && {CURVES}.data.datasets.length >= 6")

    # the scores are named for what they are; the best trial is ranked by its final score
    expect(page.locator(".kpi.best .label")).to_have_text("Best trial · final score")
    # trial 1 (final 0.8357) beats trial 0, whose lucky epoch (0.95) it did not end with
    expect(page.locator("#kpi-best")).to_have_text("0.8357")
    expect(page.locator("#kpi-best-trial")).to_have_text("trial #1 · best epoch score 0.8357")
    headers = page.locator("#trials thead th").all_text_contents()
    assert "Final score" in headers and "Best epoch" in headers
    row0 = page.locator('#trials tbody tr[data-number="0"]')
    expect(row0.locator("[data-field=final]")).to_have_text("0.8")
    expect(row0.locator("[data-field=best-epoch]")).to_have_text("0.95")
    assert page.evaluate("Chart.getChart('chart-best').options.scales.y.title.text") == "best epoch score"

    # killed and stopped trials keep a dash of their own and a legend entry; none is faded out
    killed, stopped, completed = dataset(page, 3), dataset(page, 2), dataset(page, 1)
    assert killed["dash"] and stopped["dash"] and killed["dash"] != stopped["dash"] and completed["dash"] == []
    assert dataset(page, 4)["color"] != killed["color"], "two killed trials stay two lines"
    expect(page.locator('#curves-legend [data-state="killed"]')).to_have_text("killed")
    expect(page.locator('#curves-legend [data-state="stopped"]')).to_have_text("stopped early")
    # the resumed trial's second attempt is marked where it began
    markers = page.evaluate(f"{CURVES}.data.datasets.find((d) => d.label === 'attempt began').data"
                            ".map((p) => [p.n, p.x, p.attempt, p.before])")
    assert markers == [[5, 5, 2, "paused"]]
    expect(page.locator('#curves-legend [data-state="attempt"]')).to_contain_text("attempt began")

    # ticking a row highlights that trial's curve and its dot
    before, other = dataset(page, 1), dataset(page, 5)
    page.check('#trials tbody input.pick[data-number="1"]')
    expect(page.locator('#trials tbody tr[data-number="1"]')).to_have_class(re.compile(r"\bselected\b"))
    page.wait_for_function(f"{CURVES}.data.datasets.find((d) => d.trial === 1).borderWidth === 3.5")
    after = dataset(page, 1)
    assert after["width"] > before["width"] and after["color"].endswith(", 1)"), after
    assert dataset(page, 5)["color"] != other["color"], "the others step back (fainter)"
    assert page.evaluate(f"{CURVES}.data.datasets.find((d) => d.trial === 1).order") == 0, "drawn on top"
    assert page.evaluate("Chart.getChart('chart-best').data.datasets[2].data.map((p) => p.n)") == [1]
    assert page.evaluate("Chart.getChart('scatter-78').data.datasets[1].data.map((p) => p.n)") == [1]
    page.check('#trials tbody input.pick[data-number="0"]')
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    assert page.evaluate("location.hash") == "#select=0,1"
    page.screenshot("15-selected-trials")

    # the log toggle: a logarithmic axis labelled 1, 2, 5 (the linear one labels every epoch)
    assert "3" in tick_labels(page)
    page.check("#curves-log")
    assert page.evaluate(f"{CURVES}.scales.x.type") == "logarithmic"
    labels = tick_labels(page)
    assert {"1", "2", "5"} <= set(labels) and "3" not in labels, labels
    page.uncheck("#curves-log")
    assert page.evaluate(f"{CURVES}.scales.x.type") == "linear"

    # drag across the plot to zoom into those epochs; reset shows them all again
    area = page.evaluate(f"(() => {{ const a = {CURVES}.chartArea; return [a.left, a.right, a.top, a.bottom]; }})()")
    box = page.locator("#chart-curves").bounding_box()
    y = box["y"] + (area[2] + area[3]) / 2
    left, right = area[0], area[1]
    page.mouse.move(box["x"] + left + 0.5 * (right - left), y)
    page.mouse.down()
    page.mouse.move(box["x"] + left + 0.65 * (right - left), y, steps=5)
    page.mouse.move(box["x"] + left + 0.8 * (right - left), y, steps=5)
    page.mouse.up()
    lo, hi = page.evaluate(f"[{CURVES}.scales.x.min, {CURVES}.scales.x.max]")
    assert 3.5 < lo < 5.5 and 5.5 < hi < 7.5, (lo, hi)
    expect(page.locator("#curves-reset")).to_be_visible()
    page.screenshot("15-curves-zoomed")
    page.click("#curves-reset")
    assert page.evaluate(f"{CURVES}.scales.x.min") == 1
    expect(page.locator("#curves-reset")).to_be_hidden()

    # compare the two ticked trials: the params that differ are marked
    page.click("#compare-trials")
    page.wait_for_url(f"**/studies/{study.pk}/compare/?trials=0,1")
    bs = page.locator('#compare-table tr[data-param="bs"]')
    expect(bs).to_have_class("differs")   # the row's only class
    expect(bs.locator(".diff-mark")).to_have_text("≠")
    expect(page.locator('#compare-table tr[data-param="x"]')).not_to_have_class("differs")
    expect(page.locator('#compare-table tr[data-row="final"] td[data-trial="0"]')).to_have_text("0.8")
    expect(page.locator('#compare-table tr[data-row="best-epoch"] td[data-trial="0"]')).to_have_text("0.95")
    expect(page.locator('#compare-table tr[data-row="final"] td[data-trial="1"]')).to_contain_text("★")
    assert page.evaluate("Chart.getChart('chart-compare').data.datasets.map((d) => d.trial)") == [0, 1]
    page.screenshot("15-compare-trials")


def test_a_trial_page_names_both_scores_and_marks_the_resume(page, user, study):
    resumed = study.trials.get(number=5)
    page.login("erin")
    page.goto(f"/trials/{resumed.pk}/")
    expect(page.locator(".kpi.best .label")).to_have_text("Final score")
    expect(page.locator("#kpi-final")).to_have_text(str(resumed.last_score))
    expect(page.locator("#kpi-best-at")).to_have_text("at epoch 8")
    scores = "Chart.getChart('chart-scores')"
    page.wait_for_function(f"{scores} && {scores}.data.datasets[1].data.length === 1")
    assert page.evaluate("Chart.getChart('chart-scores').data.datasets[1].data[0].x") == 5
    page.screenshot("15-trial-resumed")


def test_studies_of_one_trainer_are_overlaid_from_the_list(page, user, study, make_study):
    from studies.models import Study

    other = make_study(owner=user, name="curves again", search_alg="bayes_opt", num_trials=3)
    t0 = timezone.now() - timedelta(hours=2)
    Study.objects.filter(pk=other.pk).update(state="completed", started=t0)
    add_trial(other, 0, {"x": 0.0, "bs": 32, "opt": "adam"}, rising(0.7), finished=t0 + timedelta(minutes=5))
    add_trial(other, 1, {"x": 0.2, "bs": 32, "opt": "adam"}, rising(0.9), finished=t0 + timedelta(minutes=40))
    elsewhere = make_study(owner=user, name="another trainer", trainer="slow", search_alg="bayes_opt", num_trials=3)

    page.login("erin")
    expect(page.locator("#studies thead")).to_contain_text("Best trial · final score")
    link = page.locator("#compare-selected")
    page.check(f'input.pick-study[value="{study.pk}"]')
    page.check(f'input.pick-study[value="{elsewhere.pk}"]')
    expect(link).to_have_class(re.compile(r"\bdisabled\b"))
    expect(link).to_have_attribute("title", "studies of one trainer only")
    page.uncheck(f'input.pick-study[value="{elsewhere.pk}"]')
    page.check(f'input.pick-study[value="{other.pk}"]')
    expect(link).not_to_have_class(re.compile(r"\bdisabled\b"))
    link.click()
    page.wait_for_url("**/compare/?studies=*")
    page.wait_for_function("Chart.getChart('chart-by-time') && Chart.getChart('chart-by-epochs')")
    expect(page.locator("#compare-studies tbody tr")).to_have_count(2)
    expect(page.locator(f'#compare-studies tr[data-id="{other.pk}"] [data-field=final]')).to_contain_text("0.8849 #1")
    series = page.evaluate("Chart.getChart('chart-by-epochs').data.datasets"
                           ".map((d) => [d.study, d.data.map((p) => p.y)])")
    assert dict(series)[other.pk] == [round(0.7 * (1 - 0.6 ** 8), 4), round(0.9 * (1 - 0.6 ** 8), 4)]
    # the studies of this trainer can be ticked on and off; the other trainer's is not offered
    expect(page.locator("#study-picks input")).to_have_count(2)
    page.screenshot("15-compare-studies")

    # the study page links to the same view
    page.goto(f"/studies/{study.pk}/")
    page.click("#compare-studies")
    page.wait_for_url(f"**/compare/?studies={study.pk}")
    expect(page.locator("#compare-studies tbody tr")).to_have_count(1)


def test_a_big_study_fetches_and_highlights_a_selected_trial_it_did_not_draw(page, user, make_study):
    from benchmarks.poll_speed import fill
    from studies.models import Study

    big = make_study(owner=user, name="big sweep", num_trials=3000, parallelism=8)
    Study.objects.filter(pk=big.pk).update(state="running", started=timezone.now())
    fill(big, 3000, running=8, seed=11)
    # a poor early trial: neither running, nor among the best, nor among the newest
    worst = big.trials.filter(number__lt=500, state="stopped").order_by("best_score").first()

    page.login("erin")
    page.goto(f"/studies/{big.pk}/")
    page.wait_for_function(f"{CURVES} && {CURVES}.data.datasets.length > 50")
    assert not page.evaluate(f"{CURVES}.data.datasets.some((d) => d.trial === {worst.number})")
    page.fill("#trial-search", f"#{worst.number}")
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(1)
    page.check(f'#trials tbody input.pick[data-number="{worst.number}"]')
    page.wait_for_function(f"(() => {{ const d = {CURVES}.data.datasets.find((d) => d.trial === {worst.number}); "
                           f"return d && d.borderWidth === 3.5 && d.data.length === {worst.last_iteration}; }})()")
    assert page.evaluate("Chart.getChart('chart-best').data.datasets[2].data.map((p) => p.n)") == [worst.number]
    page.screenshot("15-big-study-selected")
