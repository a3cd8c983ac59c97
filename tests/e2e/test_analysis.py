"""The study page's Analysis section in a real browser (issue 15, points 1
and 2): importance bars in order with the method named, parallel
coordinates with a log axis, brushing an axis filters the trial table,
slices on an ASHA study, a contour for a chosen pair."""
from __future__ import annotations

import math

import numpy as np
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from studies.models import Trial

pytestmark = pytest.mark.django_db(transaction=True)

SPACE = {
    "lr": {"type": "loguniform", "range": [1e-4, 1e-1]},
    "x": {"type": "uniform", "range": [0.0, 1.0]},
    "opt": {"type": "choice", "range": ["sgd", "adam", "rmsprop"]},
}


@pytest.fixture
def asha(user, make_study):
    """An ended ASHA study: 60 trials at its first rung, 24 of them at the
    second; the score there is driven by lr (best at 10^-2.5), a little by x."""
    study = make_study(owner=user, name="analysis sweep", search_space=SPACE, num_trials=200)
    low, high = study.plan["brackets"][0][:2]
    rng, now = np.random.default_rng(4), timezone.now()
    trials = []
    for i in range(60):
        p = {"lr": float(10 ** rng.uniform(-4, -1)), "x": float(rng.uniform()), "opt": str(rng.choice(["sgd", "adam"]))}
        score = 1 - (math.log10(p["lr"]) + 2.5) ** 2 / 3 + 0.05 * p["x"]
        last = high if i < 24 else low
        rungs = {str(low): score - 0.1, **({str(high): score} if last == high else {})}
        trials.append(Trial(study=study, number=i, params=p, iterations=study.plan["max_iterations"], subset_ratio=1.0,
                            state="stopped", bracket=0, last_iteration=last, best_score=score, last_score=score,
                            rungs=rungs, started=now, finished=now))
    Trial.objects.bulk_create(trials)
    study.state, study.started, study.finished = "completed", now, now
    study.save()
    study.rung = high
    return study


def slice_chart(name: str) -> str:
    """JavaScript for the Chart of a parameter's slice."""
    return f"Chart.getChart(document.querySelector('#slice-grid .scatter[data-param={name}] canvas'))"


def open_analysis(page, study):
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(50)
    page.click("#analysis > summary")
    expect(page.locator("#analysis")).to_have_attribute("data-loaded", "1")


def test_importance_parallel_coordinates_brushing_slices_and_contour(page, user, asha):
    open_analysis(page, asha)
    expect(page.locator("#analysis-status")).to_have_text(f"computed on 24 trials at epoch {asha.rung} (ASHA rung)")
    expect(page.locator("#importance-method")).to_contain_text("functional ANOVA")
    bars = page.evaluate("Chart.getChart('chart-importance').data.labels")
    assert bars[0] == "lr", bars

    # the axes: a log axis for lr, categories for opt, and the score
    labels = page.evaluate("Chart.getChart('chart-parcoords').data.labels")
    # (the parameters in the space's stored order: PostgreSQL's jsonb has its own)
    assert sorted(labels[:-1]) == [["lr", "log"], ["opt", "choice"], ["x", ""]]
    assert labels[-1] == ["score", f"at epoch {asha.rung}"]
    drawn = page.evaluate("Chart.getChart('chart-parcoords').data.datasets.map(d => d.label)")
    assert sorted(drawn) == sorted(f"#{n}" for n in range(24)), "one line per trial at that rung"

    # drag along x's axis from 0.7 down to 0.3: the table shows the trials in that range only
    page.locator("#chart-parcoords").scroll_into_view_if_needed()
    box = page.evaluate("StudyAnalysis.axisBox('x')")
    height = box["bottom"] - box["top"]
    page.mouse.move(box["x"], box["bottom"] - 0.7 * height)
    page.mouse.down()
    page.mouse.move(box["x"], box["bottom"] - 0.5 * height, steps=4)
    page.mouse.move(box["x"], box["bottom"] - 0.3 * height, steps=4)
    page.mouse.up()
    filters = dict(page.evaluate("StudyAnalysis.tableFilters()"))
    low, high = float(filters["param.x.min"]), float(filters["param.x.max"])
    assert 0.25 < low < 0.35 and 0.65 < high < 0.75, (low, high)
    inside = sorted(t.number for t in asha.trials.all() if low <= t.params["x"] <= high)
    assert 0 < len(inside) < 60
    expect(page.locator("#trials-count")).to_contain_text(f"{len(inside)} shown by the filters")
    rows = page.locator("#trials tbody tr[data-number]")
    expect(rows).to_have_count(len(inside))
    assert sorted(rows.evaluate_all("rs => rs.map(r => Number(r.dataset.number))")) == inside
    expect(page.locator("#parcoords-brushes .brush-chip")).to_contain_text("x 0.")
    page.screenshot("analysis-brushed")

    # a slice per parameter, with the trials and the mean per bin
    for name in SPACE:
        expect(page.locator(f"#slice-grid .scatter[data-param={name}] canvas")).to_be_visible()
    lr = slice_chart("lr")
    assert page.evaluate(f"{lr}.data.datasets[1].data.length") == 24
    assert page.evaluate(f"{lr}.options.scales.x.type") == "logarithmic"

    # the contour of the two most important parameters, then of a chosen pair
    expect(page.locator("#contour-note")).to_contain_text("Mean score per cell")
    page.select_option("#contour-x", "opt")
    page.select_option("#contour-y", "lr")
    expect(page.locator("#chart-contour")).to_have_attribute("data-pair", "opt,lr")
    expect(page.locator("#contour-note")).to_contain_text("24 trials at epoch")
    cells = page.evaluate("Chart.getChart('chart-contour').$cells")
    assert {c["x"] for c in cells} <= {0, 1} and len(cells) >= 6   # sgd and adam only; lr in 10 bins
    assert sum(c["count"] for c in cells) == 24
    assert page.evaluate("Chart.getChart('chart-contour').options.scales.x.title.text") == "opt"

    # clearing the brush brings every trial back
    page.click("#parcoords-brushes .brush-chip button")
    expect(page.locator("#trials-range")).to_have_text("1–50 of 60")
    page.locator("#analysis").scroll_into_view_if_needed()
    page.screenshot("analysis")


def test_the_section_is_fetched_only_when_opened(page, user, asha):
    asked = []
    page.on("request", lambda r: "/api/" in r.url and "/analysis" in r.url and asked.append(r.url))
    page.login("erin")
    page.goto(f"/studies/{asha.pk}/")
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(50)
    page.wait_for_timeout(500)
    assert asked == []
    page.click("#analysis > summary")
    expect(page.locator("#analysis")).to_have_attribute("data-loaded", "1")
    assert len([u for u in asked if u.endswith("/analysis")]) == 1


def test_a_bayesian_study_without_enough_trials_says_so_then_shows_its_slices(page, user, make_study):
    study = make_study(owner=user, name="bayes analysis", search_alg="baye_opt", search_space=SPACE, num_trials=50)
    study.state, study.started = "running", timezone.now()
    study.save()
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    page.click("#analysis > summary")
    expect(page.locator("#analysis")).to_have_attribute("data-loaded", "1")
    expect(page.locator("#importance-note")).to_contain_text("needs at least 8 trials at one fidelity")
    expect(page.locator("#contour-note")).to_contain_text("No trial at this fidelity yet")

    rng, now = np.random.default_rng(9), timezone.now()
    full = study.plan["max_iterations"]
    Trial.objects.bulk_create([
        Trial(study=study, number=i, params=p, iterations=full, subset_ratio=1.0, state="completed",
              last_iteration=full, best_score=p["x"], last_score=p["x"], started=now, finished=now)
        for i, p in enumerate({"lr": float(10 ** rng.uniform(-4, -1)), "x": float(rng.uniform()),
                               "opt": str(rng.choice(["sgd", "adam", "rmsprop"]))} for _ in range(30))])
    page.click("#analysis-refresh")
    expect(page.locator("#analysis-status")).to_have_text(f"computed on 30 trials at full length (epoch {full})")
    assert page.evaluate("Chart.getChart('chart-importance').data.labels")[0] == "x"
    expect(page.locator("#slice-grid .scatter[data-param=lr] h4")).to_contain_text("log axis")
    assert page.evaluate(f"{slice_chart('x')}.data.datasets[1].data.length") == 30
    page.locator("#analysis").scroll_into_view_if_needed()
    page.screenshot("analysis-bayes")


def test_a_big_study_is_analysed_from_an_even_sample(page, user, make_study, monkeypatch):
    """3,000 trials (as benchmarks.poll_speed makes them), the sample
    lowered to 100: the page says what it used, and the lines are that many."""
    from benchmarks.poll_speed import fill
    from studies.analysis import data

    monkeypatch.setattr(data, "SAMPLE", 100)
    study = make_study(owner=user, name="big analysis", num_trials=3000, parallelism=8)
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 3000, running=8, seed=3, scores=False)
    open_analysis(page, study)
    status = page.locator("#analysis-status")
    expect(status).to_contain_text("(an even sample of its")
    used = int(status.inner_text().split()[2])
    assert 60 <= used <= 100, status.inner_text()
    drawn = page.evaluate("Chart.getChart('chart-parcoords').data.datasets.map(d => d.label)")
    assert len(set(drawn)) == used
    expect(page.locator("#contour-note")).to_contain_text("Mean score per cell")


def test_trials_ticked_in_the_table_are_marked_in_every_analysis_chart(page, user, asha):
    """Issue 15.3: selecting trials highlights them in every chart: the
    parallel coordinates draw the ticked trial's line thick in the selection
    colour, each slice and the contour mark its point; unticking clears them."""
    open_analysis(page, asha)   # the table's first page: trials 59 down to 10; 0-23 reached the rung
    expect(page.locator("#contour-note")).to_contain_text("Mean score per cell")
    lines = "Chart.getChart('chart-parcoords').data.datasets"

    page.check('#trials tbody input.pick[data-number="12"]')

    line = page.evaluate(f"{lines}.filter(d => d.label === '#12').map(d => [d.borderColor, d.borderWidth, d.order])[0]")
    assert line == ["#db2777", 3, -1]
    others = page.evaluate(f"{lines}.filter(d => d.label !== '#12').map(d => d.borderWidth)")
    assert others and set(others) == {1}
    for name in ("lr", "x", "opt"):
        marked = page.evaluate(f"{slice_chart(name)}.data.datasets[2].data.map(p => p.n)")
        assert marked == [12], name
    marked = page.evaluate("Chart.getChart('chart-contour').data.datasets[1].data")
    assert [p["n"] for p in marked] == [12]
    x_name, y_name = page.evaluate("document.getElementById('chart-contour').dataset.pair").split(",")
    # the point sits inside the cell that holds trial 12's values
    x_axis = page.evaluate("Chart.getChart('chart-contour').scales.x.max")
    assert -0.5 <= marked[0]["x"] <= x_axis and -0.5 <= marked[0]["y"]
    page.locator("#analysis").scroll_into_view_if_needed()
    page.screenshot("analysis-selected")

    page.uncheck('#trials tbody input.pick[data-number="12"]')
    assert page.evaluate(f"{slice_chart('lr')}.data.datasets[2].data.length") == 0
    assert page.evaluate("Chart.getChart('chart-contour').data.datasets[1].data.length") == 0
    assert page.evaluate(f"{lines}.filter(d => d.label === '#12').map(d => d.borderWidth)[0]") == 1
