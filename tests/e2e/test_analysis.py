"""The study page's Analysis section in a real browser (issue 15, points 1
and 2): importance bars in order with the method named, parallel
coordinates with a log axis, brushing an axis filters the trial table,
slices on an ASHA study, a contour for a chosen pair; every chart names the
score it plots, and the section is drawn in the dark scheme's colours."""
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


def expected_cell(spec: dict, edges: list | None, value) -> int:
    """The contour cell (index along one axis) that holds a parameter value."""
    if edges is None:
        return spec["range"].index(value)
    f = math.log10 if spec["type"] == "loguniform" else float
    lo, hi = f(edges[0]), f(edges[-1])
    return min(len(edges) - 2, int((f(value) - lo) / (hi - lo) * (len(edges) - 1)))


def open_analysis(page, study, rows: int = 50):
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(rows)
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
    assert labels[-1] == [f"score at epoch {asha.rung}", ""]
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
    expect(page.locator("#contour-note")).to_contain_text(f"Mean score at epoch {asha.rung} per cell")
    page.select_option("#contour-x", "opt")
    page.select_option("#contour-y", "lr")
    expect(page.locator("#chart-contour")).to_have_attribute("data-pair", "opt,lr")
    expect(page.locator("#contour-note")).to_contain_text("24 trials at epoch")
    cells = page.evaluate("Chart.getChart('chart-contour').$cells")
    assert {c["x"] for c in cells} <= {0, 1} and len(cells) >= 6   # sgd and adam only; lr in 10 bins
    assert sum(c["count"] for c in cells) == 24
    assert page.evaluate("Chart.getChart('chart-contour').options.scales.x.title.text") == "opt"
    assert page.evaluate("Chart.getChart('chart-contour').options.scales.y.title.text") == "lr"

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
    # the score is named by the fidelity used, on the score axis and the contour alike
    name = page.evaluate("Chart.getChart('chart-parcoords').data.labels").pop()[0]
    assert name == ("final score" if "at full length" in status.inner_text() else "best score"), name
    expect(page.locator("#contour-note")).to_contain_text(f"Mean {name} per cell")
    page.locator("#analysis").scroll_into_view_if_needed()
    page.screenshot("analysis-big-study")


def test_trials_ticked_in_the_table_are_marked_in_every_analysis_chart(page, user, asha):
    """Issue 15.3: selecting trials highlights them in every chart: the
    parallel coordinates draw the ticked trial's line thick in the selection
    colour, each slice and the contour mark its point; unticking clears them."""
    open_analysis(page, asha)   # the table's first page: trials 59 down to 10; 0-23 reached the rung
    expect(page.locator("#contour-note")).to_contain_text("per cell")
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
    # the point sits inside the cell of trial 12's values: a choice's own index, a number's bin
    pair = page.evaluate("Chart.getChart('chart-contour').$pair")
    params = asha.trials.get(number=12).params
    for key in ("x", "y"):
        axis = pair[key]
        cell = expected_cell(SPACE[axis["name"]], axis["edges"], params[axis["name"]])
        assert cell - 0.5 <= marked[0][key] <= cell + 0.5, (axis["name"], params, marked[0])
    page.locator("#analysis").scroll_into_view_if_needed()
    page.screenshot("analysis-selected")

    page.uncheck('#trials tbody input.pick[data-number="12"]')
    assert page.evaluate(f"{slice_chart('lr')}.data.datasets[2].data.length") == 0
    assert page.evaluate("Chart.getChart('chart-contour').data.datasets[1].data.length") == 0
    assert page.evaluate(f"{lines}.filter(d => d.label === '#12').map(d => d.borderWidth)[0]") == 1


def brush(page, name: str, low: float, high: float):
    """Drags along a parallel-coordinates axis from `high` down to `low` (0..1 of its height)."""
    page.locator("#chart-parcoords").scroll_into_view_if_needed()
    box = page.evaluate(f"StudyAnalysis.axisBox({name!r})")
    height = box["bottom"] - box["top"]
    page.mouse.move(box["x"], box["bottom"] - high * height)
    page.mouse.down()
    page.mouse.move(box["x"], box["bottom"] - (low + high) / 2 * height, steps=4)
    page.mouse.move(box["x"], box["bottom"] - low * height, steps=4)
    page.mouse.up()


def shown_numbers(page) -> list[int]:
    rows = page.locator("#trials tbody tr[data-number]")
    return sorted(rows.evaluate_all("rs => rs.map(r => Number(r.dataset.number))"))


BAYES_SPACE = {**SPACE, "batch": {"type": "choice", "range": [64, 16, 32]}}


@pytest.fixture
def bayes(user, make_study):
    """An ended Bayesian study: 30 trials at full length whose final score
    (x) ranks them otherwise than their best epoch's score; a numeric
    choice listed out of order (64, 16, 32)."""
    study = make_study(owner=user, name="bayes final", search_alg="baye_opt", search_space=BAYES_SPACE, num_trials=30)
    rng, now = np.random.default_rng(11), timezone.now()
    full = study.plan["max_iterations"]
    trials = []
    for i in range(30):
        p = {"lr": float(10 ** rng.uniform(-4, -1)), "x": float(rng.uniform()), "opt": str(rng.choice(["sgd", "adam"])),
             "batch": int(rng.choice([64, 16, 32]))}
        trials.append(Trial(study=study, number=i, params=p, iterations=full, subset_ratio=1.0, state="completed",
                            last_iteration=full, best_score=p["x"] + float(rng.uniform(0, 0.6)), last_score=p["x"],
                            started=now, finished=now))
    Trial.objects.bulk_create(trials)
    study.state, study.started, study.finished = "completed", now, now
    study.save()
    return study


def test_every_chart_names_the_rung_score_and_its_brush_leaves_the_table(page, user, asha):
    """On an ASHA rung the score is "score at epoch N": the score axis, the
    slices' y axes, the contour and the brush chip say so. The table has no
    filter by a rung's score: brushing it filters the lines only, and the
    chip says so, rather than filter the table by another score."""
    open_analysis(page, asha)
    name = f"score at epoch {asha.rung}"
    assert page.evaluate("Chart.getChart('chart-parcoords').data.labels").pop() == [name, ""]
    for param in SPACE:
        assert page.evaluate(f"{slice_chart(param)}.options.scales.y.title.text") == name, param
    expect(page.locator("#contour-note")).to_contain_text(f"Mean {name} per cell")
    expect(page.locator("#slices-note")).to_contain_text(f"The {name} against each parameter")

    brush(page, "score", 0.5, 0.9)
    chip = page.locator("#parcoords-brushes .brush-chip")
    expect(chip).to_contain_text(name)
    expect(chip).to_contain_text("lines only: the table has no filter by a rung's score")
    assert page.evaluate("StudyAnalysis.tableFilters()") == []
    expect(page.locator("#trials-range")).to_have_text("1–50 of 60")
    expect(page.locator("#analysis-status")).to_contain_text("lines inside the brushes")
    page.screenshot("analysis-rung-score-brushed")


def test_a_full_length_study_names_the_final_score_and_orders_a_numeric_choice(page, user, bayes):
    """At full length the score is the final score. A numeric choice's axis
    is in order, so a brush over its lower values keeps those values only."""
    open_analysis(page, bayes, rows=30)
    assert page.evaluate("Chart.getChart('chart-parcoords').data.labels").pop() == ["final score", ""]
    assert page.evaluate(f"{slice_chart('x')}.options.scales.y.title.text") == "final score"
    expect(page.locator("#contour-note")).to_contain_text("Mean final score per cell")

    # batch's axis reads 16, 32, 64 from the bottom: a brush over the lower two keeps 16 and 32
    ticks = page.evaluate("Chart.getChart('chart-parcoords').$axes.find(a => a.name === 'batch').rank")
    assert ticks == [2, 0, 1]   # the space lists 64, 16, 32
    brush(page, "batch", -0.05, 0.6)   # from below the axis: its lowest value inside
    assert dict(page.evaluate("StudyAnalysis.tableFilters()")) == {"param.batch.min": "16", "param.batch.max": "32"}
    small = sorted(t.number for t in bayes.trials.all() if t.params["batch"] in (16, 32))
    assert 0 < len(small) < 30
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(len(small))
    assert shown_numbers(page) == small
    expect(page.locator("#parcoords-brushes .brush-chip")).to_contain_text("batch 16 – 32")
    page.screenshot("analysis-numeric-choice-brushed")


def test_brushing_the_final_score_and_a_text_choice_filters_the_table_by_them(page, user, bayes):
    """The score axis plots the final score: its brush keeps the trials whose
    final score is inside, not those whose best epoch's is. A brush on a
    choice among text keeps the choices inside it."""
    open_analysis(page, bayes, rows=30)
    trials = list(bayes.trials.all())
    brush(page, "score", 0.3, 0.7)
    filters = dict(page.evaluate("StudyAnalysis.tableFilters()"))
    low, high = float(filters["final_score_min"]), float(filters["final_score_max"])
    inside = sorted(t.number for t in trials if low <= t.last_score <= high)
    by_best = sorted(t.number for t in trials if low <= t.best_score <= high)
    assert 0 < len(inside) < 30 and inside != by_best, (inside, by_best)
    expect(page.locator("#parcoords-brushes .brush-chip")).to_contain_text("final score 0.")
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(len(inside))
    assert shown_numbers(page) == inside
    page.screenshot("analysis-final-score-brushed")
    page.click("#parcoords-brushes .brush-chip button")
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(30)

    # opt's axis: sgd, adam, rmsprop from the bottom; a brush around the middle keeps adam
    brush(page, "opt", 0.35, 0.65)
    assert page.evaluate("StudyAnalysis.tableFilters()") == [["param.opt.in", '["adam"]']]
    expect(page.locator("#parcoords-brushes .brush-chip")).to_contain_text("opt: adam")
    adam = sorted(t.number for t in trials if t.params["opt"] == "adam")
    assert 0 < len(adam) < 30
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(len(adam))
    assert shown_numbers(page) == adam
    page.screenshot("analysis-choice-brushed")


def contrast(a: list, b: list) -> float:
    """WCAG contrast ratio of two sRGB colours ([r, g, b], 0-255)."""
    def lum(rgb):
        c = [v / 255 for v in rgb[:3]]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# a CSS colour as [r, g, b], as the browser resolves it
RGB = """(css) => { const c = document.createElement('canvas').getContext('2d'); c.fillStyle = css;
  const h = c.fillStyle; if (h.startsWith('#')) return [1, 3, 5].map(k => parseInt(h.slice(k, k + 2), 16));
  return h.match(/[\\d.]+/g).slice(0, 3).map(Number); }"""


def check_colours(page, scheme: str):
    """The canvas' tick labels read at 4.5:1 against the card, the axes and
    every colour of the score scale (lines, contour cells) at 3:1."""
    background = page.evaluate(f"({RGB})(getComputedStyle(document.getElementById('analysis')).backgroundColor)")
    used = page.evaluate(f"""() => {{ const c = StudyAnalysis.colors(), rgb = {RGB};
      return {{ text: rgb(c.text), axis: rgb(c.muted),
                scale: [0, 0.25, 0.5, 0.75, 1].map(t => rgb(StudyAnalysis.colorAt(t))) }}; }}""")
    assert contrast(used["text"], background) >= 4.5, (used, background)
    assert contrast(used["axis"], background) >= 3, (used, background)
    for color in used["scale"]:
        assert contrast(color, background) >= 3, (color, background)
    # the charts draw with them: a contour cell and the parallel coordinates' lines
    cell = page.evaluate(f"({RGB})(Chart.getChart('chart-contour').$cells[0].color)")
    assert contrast(cell, background) >= 3
    better = "brighter" if scheme == "dark" else "darker"
    expect(page.locator("#parcoords-note")).to_contain_text(f"({better}: better)")
    page.locator("#analysis").scroll_into_view_if_needed()
    page.screenshot(f"analysis-{scheme}")


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_the_section_is_drawn_in_the_colour_schemes_colours(page, user, asha, scheme):
    page.emulate_media(color_scheme=scheme)
    open_analysis(page, asha)
    expect(page.locator("#contour-note")).to_contain_text("per cell")
    check_colours(page, scheme)


def test_the_section_redraws_when_the_reader_switches_to_the_dark_scheme(page, user, asha):
    page.emulate_media(color_scheme="light")
    open_analysis(page, asha)
    expect(page.locator("#contour-note")).to_contain_text("(darker: better)")
    page.emulate_media(color_scheme="dark")
    expect(page.locator("#contour-note")).to_contain_text("(brighter: better)")
    check_colours(page, "dark")
