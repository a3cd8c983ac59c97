"""The study page's trial table, charts and ASHA board in a real browser
(issue 15): a column's header sorts the table (a second click the other way),
the CSV download carries the table's filters and order, trials ticked in the
table are marked on the Bayesian "Score per trial" chart and on the ASHA
board, the board's columns name the score they rank by (final score at the
full length), and a 120-epoch ASHA study's curves start on a log epoch axis."""
from __future__ import annotations

import csv
import io
import random

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from studies.models import Score, Trial

pytestmark = pytest.mark.django_db(transaction=True)

QUEUED = (28, 29)


def final(t):
    return t.last_score if t.last_score is not None else t.best_score


@pytest.fixture
def asha(user, make_study):
    """An ASHA study (8 epochs, rungs 1, 2, 4) of 30 trials: 10 completed
    (final score != best epoch score, in another order), 18 stopped at a
    rung, 2 queued (no score, no worker)."""
    study = make_study(owner=user, name="sortable")
    assert study.plan["brackets"] == [[1, 2, 4]] and study.plan["max_iterations"] == 8
    rng, now = random.Random(7), timezone.now()
    trials = []
    for i in range(30):
        params = {"x": round(rng.uniform(-2, 2), 4), "bs": rng.choice([8, 16, 64, 128]),
                  "opt": rng.choice(["sgd", "adam"])}
        if i in QUEUED:
            trials.append(Trial(study=study, number=i, params=params, iterations=8, subset_ratio=1.0,
                                state="queued", bracket=0))
            continue
        last = 8 if i % 3 == 0 else (1, 2, 4)[i % 3]
        best = round(rng.uniform(0.2, 0.9), 4)
        # the final score (the latest report) is below the best epoch's by a random amount
        last_score = round(best - rng.uniform(0, 0.3), 4)
        rungs = {str(m): round(best - 0.05 * (4 - j), 4) for j, m in enumerate((1, 2, 4)) if m <= last}
        trials.append(Trial(study=study, number=i, params=params, iterations=8, subset_ratio=1.0,
                            state="completed" if last == 8 else "stopped", bracket=0, last_iteration=last,
                            best_score=best, last_score=last_score, rungs=rungs, host=f"host-{(7 * i) % 4}",
                            gpu=str(i % 3), started=now, finished=now))
    Trial.objects.bulk_create(trials)
    study.state, study.started = "running", now
    study.save()
    return study


def numbers(page) -> list[int]:
    return page.locator("#trials tbody tr[data-number]").evaluate_all("rs => rs.map(r => Number(r.dataset.number))")


def expect_order(page, expected: list[int]):
    rows = page.locator("#trials tbody tr[data-number]")
    expect(rows).to_have_count(len(expected))
    # the table redraws when the server answers: wait for the new order
    page.wait_for_function("(want) => [...document.querySelectorAll('#trials tbody tr[data-number]')]"
                           ".map(r => Number(r.dataset.number)).join() === want.join()", arg=expected)
    assert numbers(page) == expected


def order(trials, key, reverse=False) -> list[int]:
    """Trial numbers sorted by ``key`` (None last either way), ties by number."""
    valued = [t for t in trials if key(t) is not None]
    missing = [t for t in trials if key(t) is None]
    valued.sort(key=lambda t: (key(t), t.number), reverse=reverse)
    missing.sort(key=lambda t: t.number, reverse=reverse)
    return [t.number for t in valued + missing]


def test_headers_sort_the_table_and_the_csv_follows_its_filters(page, user, asha):
    trials = list(asha.trials.all())
    page.login("erin")
    page.goto(f"/studies/{asha.pk}/")
    expect_order(page, sorted((t.number for t in trials), reverse=True))
    expect(page.locator("#trials thead button[data-sort=number]")).to_have_attribute("aria-sort", "descending")

    # Final score: best first (the study maximizes), then the other way; unscored trials last
    header = page.locator("#trials thead button[data-sort=final_score]")
    header.click()
    expect_order(page, order(trials, final, reverse=True))
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#trials thead button[data-sort=number]")).not_to_have_attribute("aria-sort", "descending")
    shown = [float(v) for v in page.locator("#trials tbody td[data-field=final]").all_inner_texts() if v != "—"]
    assert shown == sorted(shown, reverse=True) and len(shown) == 28
    assert page.input_value("#trial-sort") == "final", "the Sort menu shows the header's order"
    header.click()
    expect_order(page, order(trials, final))
    expect(header).to_have_attribute("aria-sort", "ascending")

    # a parameter's header (in the Params column): ascending, then descending
    x = page.locator("#param-sorts button[data-sort='param.x']")
    x.click()
    expect_order(page, order(trials, lambda t: t.params["x"]))
    expect(x).to_have_attribute("aria-sort", "ascending")
    page.screenshot("trial-table-sorted-by-param")
    x.click()
    expect_order(page, order(trials, lambda t: t.params["x"], reverse=True))
    expect(x).to_have_attribute("aria-sort", "descending")

    # the worker (host, then GPU): trials no worker took come last
    page.click("#trials thead button[data-sort=worker]")
    expect_order(page, order(trials, lambda t: f"{t.host} {t.gpu}" if t.host else None))

    # the CSV download: the table's filters and order, every page
    page.select_option("#trial-filter", "completed")
    completed = [t for t in trials if t.state == "completed"]
    expect_order(page, order(completed, lambda t: f"{t.host} {t.gpu}"))
    href = page.get_attribute("#dl-csv", "href")
    assert href.startswith(f"/api/studies/{asha.pk}/trials.csv?"), href
    assert "state=completed" in href and "sort=worker" in href and "offset" not in href and "limit" not in href, href
    rows = list(csv.DictReader(io.StringIO(page.request.get(page.base_url + href).text())))
    assert [int(r["trial"]) for r in rows] == order(completed, lambda t: f"{t.host} {t.gpu}")
    page.screenshot("trial-table-sorted-filtered")


def test_the_asha_board_names_its_scores_ranks_by_final_score_and_marks_the_selection(page, user, asha):
    page.login("erin")
    page.goto(f"/studies/{asha.pk}/")
    full = page.locator("#brackets .rung-col[data-column=full]")
    expect(full.locator(".score-label")).to_have_text("final score")
    expect(page.locator("#brackets .rung-col[data-column='2'] .score-label")).to_have_text("score at epoch 2")
    completed = [t for t in asha.trials.all() if t.state == "completed"]
    by_final = [t.number for t in sorted(completed, key=lambda t: (-final(t), t.number))]
    by_best = [t.number for t in sorted(completed, key=lambda t: (-t.best_score, t.number))]
    assert by_final != by_best, "the fixture tells the two rankings apart"
    chips = full.locator(".tchip").evaluate_all("cs => cs.map(c => Number(c.dataset.trial))")
    assert chips == by_final
    top = next(t for t in completed if t.number == by_final[0])
    assert float(full.locator(".tchip .tscore").first.inner_text()) == pytest.approx(final(top), abs=1e-3)

    # tick a trial that reached rung 2: its chips are marked in every column it is in, and only its
    picked = next(t for t in asha.trials.all() if t.state == "stopped" and t.last_iteration == 2)
    page.check(f"#trials tbody input.pick[data-number='{picked.number}']")
    marked = page.locator("#brackets .tchip.selected")
    expect(marked).to_have_count(2)
    marks = marked.evaluate_all("cs => cs.map(c => c.dataset.trial + ':' + c.dataset.selected)")
    assert set(marks) == {f"{picked.number}:1"}
    page.locator("#asha").scroll_into_view_if_needed()
    page.screenshot("asha-board-selected-and-labelled")
    page.uncheck(f"#trials tbody input.pick[data-number='{picked.number}']")
    expect(page.locator("#brackets .tchip.selected")).to_have_count(0)


def test_the_bayesian_score_chart_marks_the_selected_trial(page, user, make_study):
    study = make_study(owner=user, name="bo selection", search_alg="bayes_opt", num_trials=12, num_init_trial=4)
    now = timezone.now()
    Trial.objects.bulk_create(Trial(study=study, number=i, params={"x": i / 10, "bs": 16, "opt": "sgd"}, iterations=8,
                                    subset_ratio=1.0, state="completed", last_iteration=8, best_score=0.1 * i,
                                    last_score=0.1 * i, started=now, finished=now) for i in range(8))
    study.state, study.started = "running", now
    study.save()
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    expect(page.locator("#trials tbody tr[data-number]")).to_have_count(8)
    chart = "Chart.getChart('chart-bo-scores')"
    page.check("#trials tbody input.pick[data-number='5']")
    page.wait_for_function(f"{chart}.data.datasets.some(d => d.label === 'selected' && d.data.length === 1)")
    selected = page.evaluate(f"(() => {{ const d = {chart}.data.datasets.find(d => d.label === 'selected');"
                             " return {n: d.data[0].n, x: d.data[0].x, style: d.pointStyle,"
                             " color: d.pointBackgroundColor}; })()")
    assert selected == {"n": 5, "x": 5, "style": "rectRot", "color": page.evaluate("Curves.SELECTED")}
    page.locator("#bayes").scroll_into_view_if_needed()
    page.screenshot("bayes-score-per-trial-selected")
    page.uncheck("#trials tbody input.pick[data-number='5']")
    page.wait_for_function(f"{chart}.data.datasets.find(d => d.label === 'selected').data.length === 0")


def test_a_long_asha_studys_curves_start_on_a_log_epoch_axis(page, user, make_study):
    study = make_study(owner=user, name="long curves", num_full_iterations=120, max_iterations=120)
    top = study.plan["max_iterations"]
    assert top == 120, study.plan
    rungs = study.plan["brackets"][0]
    now = timezone.now()
    # most trials stop at the first rungs, a few train the whole 120 epochs
    lengths = [rungs[0]] * 12 + [rungs[1]] * 5 + [top] * 3
    trials = Trial.objects.bulk_create(
        Trial(study=study, number=i, params={"x": i / 20, "bs": 16, "opt": "adam"}, iterations=top, subset_ratio=1.0,
              state="completed" if n == top else "stopped", bracket=0, last_iteration=n, best_score=0.5 + i / 100,
              last_score=0.5 + i / 100, rungs={str(m): 0.4 + i / 100 for m in rungs if m <= n},
              started=now, finished=now) for i, n in enumerate(lengths))
    Score.objects.bulk_create(Score(study=study, trial=t, iteration=e, value=0.5 + t.number / 100 - 1 / (e + 1))
                              for t in trials for e in range(1, t.last_iteration + 1))
    study.state, study.started, study.finished = "completed", now, now
    study.save()
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    chart = "Chart.getChart('chart-curves')"
    page.wait_for_function(f"{chart} && {chart}.data.datasets.length >= 20")
    assert page.evaluate(f"{chart}.options.scales.x.type") == "logarithmic"
    expect(page.locator("#curves-log")).to_be_checked()
    # the short curves fill a good part of the axis, not its first few percent
    share = page.evaluate(f"(() => {{ const x = {chart}.scales.x;"
                          f" return (x.getPixelForValue({rungs[1]}) - x.left) / x.width; }})()")
    assert share > 0.1, (share, rungs)   # under 0.03 on a linear axis
    page.locator("#chart-curves").scroll_into_view_if_needed()
    page.screenshot("long-curves-log-axis")
    # the toggle still switches, and the reader's choice stays through the redraws
    page.uncheck("#curves-log")
    assert page.evaluate(f"{chart}.options.scales.x.type") == "linear"
    page.wait_for_timeout(2500)
    assert page.evaluate(f"{chart}.options.scales.x.type") == "linear"
