"""The studies list in a real browser: a page at a time, searched and sorted
by the server through links and the search box, and kept live on the page
the user is on (its poll asks for that page)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def _studies(user, n: int) -> dict:
    from studies import control
    from studies.validation import validate_study
    from tests.conftest import study_data

    made = {}
    for i in range(n):
        cleaned, errors = validate_study(study_data(name=f"study {i:02d}"), {"quick"})
        assert not errors, errors
        made[i] = control.create(user, cleaned)
    return made


def test_the_list_pages_searches_sorts_and_stays_live(page, user):
    from studies.models import Study

    made = _studies(user, 30)
    Study.objects.filter(pk=made[3].pk).update(state="running")
    names = page.locator("#studies tbody td.name a")
    page.login("erin")
    expect(names).to_have_count(25)
    expect(names.first).to_have_text("study 29")
    expect(page.locator("#list-summary")).to_contain_text("30 studies · page 1 of 2")

    page.click("#pager a[rel=next]")
    expect(names).to_have_count(5)
    live = page.locator(f'#studies tr[data-id="{made[3].pk}"] [data-field=state]')
    expect(live).to_have_text("running")
    Study.objects.filter(pk=made[3].pk).update(state="paused")
    expect(live).to_have_text("paused", timeout=15_000)   # the 5 s poll of this page
    page.screenshot("40-studies-page-2")

    page.fill("#list-search input[name=q]", "study 1")
    page.press("#list-search input[name=q]", "Enter")
    expect(names).to_have_count(10)
    expect(page.locator("#list-summary")).to_contain_text("10 studies matching")
    page.click("#studies th a[data-sort=name]")
    expect(names.first).to_have_text("study 10")
    page.click("#studies th a[data-sort=name]")
    expect(names.first).to_have_text("study 19")
    expect(page.locator("#list-search input[name=q]")).to_have_value("study 1")
    page.screenshot("41-studies-searched-sorted")
    assert not page.errors
