"""The study page and the list of a study whose ASHA budget ended in
backfill (issue 16): short trials have their own group on the rung board and
are triangles in best-so-far, never full-length completions; the Trials card
fits at 1400 px and says in words what the list says; the board explains
asynchronous promotion (green chips below today's cutoff)."""
from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from studies.models import Trial

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"x": 0.0, "bs": 8, "opt": "sgd"}
#: number: (state, iterations, last_iteration, rungs, best score). The plan: 8 epochs, rungs 1, 2, 4, eta 2.
#: Trial 0 reached rung 1 first, alone, and continued; ranked against all six now it is below the cutoff.
TRIALS = {
    0: ("completed", 8, 8, {"1": 0.3, "2": 0.35, "4": 0.4}, 0.45),
    1: ("completed", 8, 8, {"1": 0.6, "2": 0.62, "4": 0.65}, 0.7),
    2: ("stopped", 8, 1, {"1": 0.2}, 0.2),
    3: ("stopped", 8, 1, {"1": 0.25}, 0.25),
    4: ("running", 8, 3, {"1": 0.65, "2": 0.66}, 0.66),
    5: ("completed", 1, 1, {}, 0.9),             # backfill: 1 epoch
    6: ("completed", 2, 2, {"1": 0.8}, 0.85),   # backfill: 2 epochs
}
SHORT = {5, 6}


@pytest.fixture
def study(user, make_study):
    study = make_study(owner=user, name="ended in backfill", num_trials=5, parallelism=2)
    assert (study.plan["max_iterations"], study.plan["brackets"], study.plan["reduction_factor"]) == (8, [[1, 2, 4]], 2)
    study.state, study.started = "running", timezone.now()
    study.save()
    now = timezone.now()
    Trial.objects.bulk_create([
        Trial(study=study, number=n, params=PARAMS, iterations=iterations, subset_ratio=1.0, state=state, bracket=0,
              last_iteration=last, rungs=rungs, best_score=score, last_score=score, spent=float(last), attempt=1,
              started=now, finished=None if state == "running" else now, heartbeat=now)
        for n, (state, iterations, last, rungs, score) in TRIALS.items()])
    return study


def column(page, heading):
    """A column of the rung board, by the heading a person reads."""
    return page.locator("#brackets .rung-col").filter(has=page.locator(".rung-head strong", has_text=heading))


def test_short_trials_are_their_own_group_on_the_board_and_triangles_in_best_so_far(page, study):
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    full, short = column(page, "epoch 8 · full"), column(page, "short trials (budget end)")
    expect(full.locator(".rung-head")).to_contain_text("epoch 8 · full")
    expect(full.locator(".rung-head")).to_contain_text("2 completed")
    assert sorted(int(n) for n in full.locator(".tchip").evaluate_all("cs => cs.map(c => c.dataset.trial)")) == [0, 1]
    expect(short.locator(".rung-head")).to_contain_text("short trials (budget end)")
    expect(short.locator(".rung-head")).to_contain_text("2 completed at 1, 2 epochs")
    chips = short.locator(".tchip")
    assert sorted(int(n) for n in chips.evaluate_all("cs => cs.map(c => c.dataset.trial)")) == sorted(SHORT)
    expect(chips.first).to_have_class("tchip c-short")

    styles = page.evaluate("""() => { const d = Chart.getChart('chart-best').data.datasets[1];
        return Object.fromEntries(d.data.map((p, i) => [p.n, d.pointStyle[i]])); }""")
    assert {int(n) for n, s in styles.items() if s == "triangle"} == SHORT
    assert {int(n) for n, s in styles.items() if s == "circle"} == {0, 1, 2, 3}
    expect(page.locator(".chart-card:has(#chart-best) .hint")).to_contain_text("▲ short trials")
    page.locator("#asha").scroll_into_view_if_needed()
    page.screenshot("62-study-short-trials")


def test_the_trials_card_fits_and_says_what_the_list_says(page, study):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    text = "7 trials (5 planned + 2 backfill)"
    expect(page.locator("#kpi-trials")).to_have_text("7")
    expect(page.locator("#kpi-trials-sub")).to_have_text("5 planned + 2 backfill")
    card = page.locator(".kpi:has(#kpi-trials)")
    expect(card).to_have_attribute("title", text)
    for selector in ("#kpi-trials", "#kpi-trials-sub"):
        fits = page.eval_on_selector(selector, "e => [e.scrollWidth, e.clientWidth]")
        assert fits[0] <= fits[1], f"{selector} is cut: {fits}"
    page.screenshot("63-study-trials-card-1400")

    page.goto("/")
    expect(page.locator(f'tr[data-id="{study.pk}"] [data-field=trials]')).to_have_text(text)
    page.wait_for_timeout(5500)   # the list's live refresh (a running study) writes the same words
    expect(page.locator(f'tr[data-id="{study.pk}"] [data-field=trials]')).to_have_text(text)
    page.screenshot("65-list-trial-count-1400")


def test_the_board_explains_that_asha_promotes_asynchronously(page, study):
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    rung = column(page, "rung · epoch 1")
    # six trials reached rung 1: the top 3 now; trial 0 continued when it arrived, alone
    cut = rung.locator(".cutoff")
    expect(cut).to_have_text("≥ 0.6")
    title = cut.get_attribute("title")
    assert "the top 3 of the 6 trials that have reached this rung" in title
    assert "so far" in title and "some continued (green) below this line" in title
    assert "must rank" not in title
    below = rung.locator(".cutline ~ .tchip.c-continued")
    assert below.evaluate_all("cs => cs.map(c => c.dataset.trial)") == ["0"]
    explain = page.locator("#asha-explain")
    expect(explain).to_be_visible()
    expect(explain).to_contain_text("ASHA promotes asynchronously")
    expect(explain).to_contain_text("top 1/η of the trials that have reached that rung so far")
    expect(explain).to_contain_text("some continued (green) with scores that would not make today's cutoff")


def test_a_big_studys_board_counts_its_short_trials_apart(page, user, make_study, monkeypatch):
    from benchmarks.poll_speed import fill
    from studies import overview
    from tests.web.test_short_trials import add_backfill

    monkeypatch.setattr(overview, "BIG", 100)
    study = make_study(owner=user, name="big, ended in backfill", num_trials=300, parallelism=4)
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 300, running=0, seed=5)
    backfill = add_backfill(study, 7)
    top = study.plan["max_iterations"]

    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    for b in range(len(study.plan["brackets"])):
        bracket = page.locator("#brackets .bracket").nth(b)
        full = column(page, f"epoch {top} · full").and_(bracket.locator(".rung-col"))
        completed = study.trials.filter(state="completed", iterations=top, bracket=b).count()
        expect(full.locator("[data-count=reached]")).to_have_text(f"{completed} completed")
        shown = full.locator(".tchip").evaluate_all("cs => cs.map(c => Number(c.dataset.trial))")
        assert not set(shown) & set(backfill)
    short = column(page, "short trials (budget end)")
    chips = short.locator(".tchip.c-short").evaluate_all("cs => cs.map(c => Number(c.dataset.trial))")
    assert sorted(chips) == backfill
    expect(short.first.locator(".rung-head")).to_contain_text("completed at 1 epoch")
    page.locator("#asha").scroll_into_view_if_needed()
    page.screenshot("64-big-study-short-trials")
