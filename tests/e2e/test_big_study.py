"""The study page of a big study in a real browser (issue 13.2): 3,000 trials
made in bulk, of which 8 run. The table pages, sorts and filters on the
server; the charts draw the server's aggregates; the ASHA board shows counts
per rung and the top trials. No timing here: benchmarks/poll_speed.py
--browser times the page at 100,000 trials."""
from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from benchmarks.poll_speed import fill

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def big(user, make_study):
    study = make_study(owner=user, name="big sweep", num_trials=3000, parallelism=8)
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 3000, running=8, seed=11)
    return study


def first_numbers(page):
    return page.locator("#trials tbody tr").evaluate_all("rows => rows.map(r => Number(r.dataset.number))")


def drawn(page, chart_id):
    return page.evaluate(f"Chart.getChart('{chart_id}').data.datasets.reduce((n, d) => n + d.data.length, 0)")


def test_a_big_study_page_pages_sorts_filters_and_draws_aggregates(page, user, big):
    # a hand-picked trial (issue 16) keeps its star in the sampled chart
    picked = big.trials.filter(state="completed").exclude(best_score=None).order_by("number")[7]
    big.trials.filter(pk=picked.pk).update(hand_picked=True)
    page.login("erin")
    page.goto(f"/studies/{big.pk}/")
    rows = page.locator("#trials tbody tr[data-number]")
    expect(rows).to_have_count(50)
    expect(page.locator("#trials-range")).to_have_text("1–50 of 3000")
    assert first_numbers(page) == list(range(2999, 2949, -1)), "newest first"

    # the next page holds the next 50
    page.click("#trials-next")
    expect(page.locator("#trials-range")).to_have_text("51–100 of 3000")
    assert first_numbers(page) == list(range(2949, 2899, -1))

    # sorting by score puts the best trial first, as the server ranks them
    page.select_option("#trial-sort", "best")
    expect(page.locator("#trials-range")).to_have_text("1–50 of 3000")
    best = list(big.trials.exclude(best_score=None).order_by("-best_score", "-number")
                .values_list("number", flat=True)[:50])
    expect(rows.first).to_have_attribute("data-number", str(best[0]))
    assert first_numbers(page) == best

    # a state filter and a score range narrow it; the count says how many
    page.select_option("#trial-filter", "running")
    expect(rows).to_have_count(8)
    expect(page.locator("#trials-count")).to_contain_text("8 shown by the filters")
    page.select_option("#trial-filter", "completed")
    page.fill("#trial-score-min", "0.5")
    expected = big.trials.filter(state="completed", best_score__gte=0.5).count()
    expect(page.locator("#trials-count")).to_contain_text(f"{expected} shown by the filters")
    page.fill("#trial-score-min", "high")
    expect(page.locator("#trial-query-error")).to_contain_text("score_min must be a finite number")

    # the charts are drawn from the aggregates: sampled dots, the running best, the curves
    assert drawn(page, "chart-best") > 100
    assert drawn(page, "chart-curves") > 0
    expect(page.locator(".chart-card .hint").first).to_contain_text("evenly sampled")
    stars = page.evaluate("""() => Chart.getChart('chart-best').data.datasets.flatMap((d) =>
        d.data.filter((p, i) => [].concat(d.pointStyle)[i % [].concat(d.pointStyle).length] === 'star')
              .map((p) => p.n))""")
    assert stars == [picked.number]

    # the ASHA board: counts per rung (every trial counted once at the first
    # rung's column or before it) and the top trials, not 3,000 chips
    board = page.locator("#brackets")
    bracket = board.locator(".bracket").first
    first_rung = big.plan["brackets"][0][0]
    mine = big.trials.filter(bracket=0)
    reached = mine.filter(last_iteration__gte=first_rung).count()
    expect(bracket.locator(f'.rung-col[data-milestone="{first_rung}"] [data-count=reached]')).to_have_text(
        f"{reached} reached")
    completed = mine.filter(state="completed").count()
    expect(bracket.locator(".rung-col").last.locator("[data-count=reached]")).to_have_text(f"{completed} completed")
    assert board.locator(".tchip").count() < 200
    # each column names the score it ranks its top trials by
    expect(bracket.locator('.rung-col[data-column="full"] .score-label')).to_have_text("final score")
    expect(bracket.locator(f'.rung-col[data-milestone="{first_rung}"] .score-label')).to_have_text(
        f"score at epoch {first_rung}")
    expect(board.locator(".tchip.c-running").first).to_be_visible()
    page.screenshot("11-big-study")
