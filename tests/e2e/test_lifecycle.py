"""A study's lifecycle, notes and tags in a real browser: delete after an
in-page confirmation, archive hides a study from the list (its filter shows
it), a running study's refusal says why, a trial excluded from the model's
view, notes that render without running the markup typed into them, and tags
that search the list."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def _study(user, name: str, state: str = "killed", scores=None):
    """A study of two trials; ``state`` "running" leaves it started (no
    worker takes its jobs), otherwise it is killed and its trials completed
    with ``scores`` (default: trial 1 the best)."""
    from studies import control
    from studies.models import Trial
    from studies.validation import validate_study
    from tests.conftest import study_data

    cleaned, errors = validate_study(study_data(name=name, start=True), {"quick"})
    assert not errors, errors
    study = control.create(user, cleaned)
    if state == "running":
        return study
    control.kill(study)
    for number, score in (scores or {0: 0.5, 1: 0.9}).items():
        Trial.objects.filter(study=study, number=number).update(
            state="completed", best_score=score, last_score=score, iterations=study.plan["max_iterations"],
            last_iteration=study.plan["max_iterations"], spent=1.0)
    study.refresh_from_db()
    return study


def test_delete_asks_in_the_page_and_cancel_keeps_the_study(page, user):
    from studies.models import Study, Trial

    study = _study(user, "to delete")
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    page.click('[data-life="delete"]')
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text('Delete the study "to delete" with its 2 trials, their scores and logs?')
    page.screenshot("60-delete-confirmation")
    dialog.locator("button[value=cancel]").click()
    expect(dialog).to_be_hidden()
    assert Study.objects.filter(pk=study.pk).exists()

    page.click('[data-life="delete"]')
    page.click("#confirm-ok")
    page.wait_for_url(page.base_url + "/")
    expect(page.locator("#studies tbody")).not_to_contain_text("to delete")
    assert not Study.objects.filter(pk=study.pk).exists()
    assert not Trial.objects.filter(study_id=study.pk).exists()
    page.screenshot("61-deleted-back-on-the-list")


def test_a_running_study_refuses_archive_and_delete_saying_why(page, user):
    from studies.models import Study

    study = _study(user, "busy", state="running")
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    page.click('[data-life="archive"]')
    page.click("#confirm-ok")
    expect(page.locator("#life-error")).to_have_text(
        "cannot archive a study that is running: pause it (and let its running trials pause) or kill it first")
    page.screenshot("62-archive-refused-while-running")
    page.click('[data-life="delete"]')
    page.click("#confirm-ok")
    expect(page.locator("#life-error")).to_contain_text("cannot delete a study that is running")
    study.refresh_from_db()
    assert study.archived is False and Study.objects.filter(pk=study.pk).exists()


def test_archive_hides_the_study_from_the_list_and_its_filter_shows_it(page, user):
    study = _study(user, "old sweep")
    _study(user, "current sweep")
    names = page.locator("#studies tbody td.name > a")
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    page.click('[data-life="archive"]')
    expect(page.locator("#confirm-dialog")).to_contain_text('Archive the study "old sweep"?')
    page.click("#confirm-ok")
    expect(page.locator("#study-archived")).to_be_visible()
    expect(page.locator("#archived-note")).to_be_visible()
    expect(page.locator('[data-life="unarchive"]')).to_be_visible()
    page.screenshot("63-archived-study")

    page.goto("/")
    expect(names).to_have_text(["current sweep"])
    expect(page.locator("#archived-filter")).to_contain_text("Archived 1")
    page.click("#archived-filter")
    expect(names).to_have_text(["old sweep"])
    expect(page.locator("#studies tbody .badge.archived")).to_have_text("archived")
    page.screenshot("64-archived-filter")

    page.click("#studies tbody td.name > a")
    page.click('[data-life="unarchive"]')
    expect(page.locator("#study-archived")).to_be_hidden()
    page.goto("/")
    expect(names).to_have_text(["current sweep", "old sweep"])


def test_excluding_a_trial_moves_the_best_and_can_be_undone(page, user):
    study = _study(user, "exclusion")
    best_trial = study.trials.get(number=1)
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    expect(page.locator("#kpi-best-trial")).to_contain_text("trial #1 ·")
    row = page.locator('#trials tbody tr[data-number="1"]')
    row.locator("button[data-action=exclude]").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("Exclude trial #1 from the model's view?")
    page.click("#confirm-ok")
    expect(row.locator(".badge.excluded")).to_have_text("excluded")
    expect(page.locator("#kpi-best-trial")).to_contain_text("trial #0 ·")
    page.screenshot("65-trial-excluded")

    page.goto(f"/trials/{best_trial.pk}/")
    expect(page.locator("#trial-excluded")).to_be_visible()
    expect(page.locator("#excluded-note")).to_contain_text("Excluded from the model's view")
    page.click("#trial-controls [data-action=include]")
    expect(page.locator("#trial-excluded")).to_be_hidden()
    best_trial.refresh_from_db()
    assert best_trial.excluded is False


HOSTILE = ("**bold idea** and *this*, see [the paper](https://example.org/paper)\n\n"
           "<script>window.__pwned = 'script'</script>\n\n"
           "<img src=x onerror=\"window.__pwned = 'img'\">\n\n"
           "[click me](javascript:window.__pwned='link')\n\n- first\n- `<b>code</b>`")


def _check_notes(page, card: str):
    body = page.locator(f"#{card} .notes-body")
    expect(body.locator("strong")).to_have_text("bold idea")
    expect(body.locator("em")).to_have_text("this")
    expect(body.locator("a")).to_have_count(1)
    expect(body.locator("a")).to_have_attribute("href", "https://example.org/paper")
    expect(body).to_contain_text("<script>window.__pwned = 'script'</script>")
    expect(body).to_contain_text("<img src=x onerror=")
    expect(body).to_contain_text("[click me](javascript:")
    expect(body.locator("li code")).to_have_text("<b>code</b>")
    assert body.locator("script, img, b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_notes_render_as_text_without_running_script_or_onerror(page, user):
    study = _study(user, "notes")
    trial = study.trials.get(number=0)
    page.login("erin")
    page.goto(f"/studies/{study.pk}/")
    expect(page.locator("#study-notes .notes-body")).to_have_text("No notes yet.")
    page.click("#study-notes .notes-edit")
    page.fill("#study-notes .notes-input", HOSTILE)
    page.click("#study-notes .notes-save")
    _check_notes(page, "study-notes")
    page.screenshot("66-study-notes")
    page.reload()                         # the server's rendering of the same notes
    _check_notes(page, "study-notes")

    page.goto(f"/trials/{trial.pk}/")
    page.click("#trial-notes .notes-edit")
    page.fill("#trial-notes .notes-input", HOSTILE)
    page.click("#trial-notes .notes-save")
    _check_notes(page, "trial-notes")
    page.reload()
    _check_notes(page, "trial-notes")
    page.screenshot("67-trial-notes")


def test_tags_are_edited_on_the_page_and_search_the_list(page, user):
    tagged = _study(user, "tagged")
    _study(user, "plain")
    names = page.locator("#studies tbody td.name > a")
    page.login("erin")
    page.goto(f"/studies/{tagged.pk}/")
    page.click("#study-notes .notes-edit")
    page.fill("#study-notes .tags-input", "bad tag!")
    page.click("#study-notes .notes-save")
    expect(page.locator("#study-notes .tags-error")).to_contain_text("a tag starts with a letter or digit")
    page.fill("#study-notes .tags-input", "ResNet, gpu:a100")
    page.fill("#study-notes .notes-input", "tried a cosine schedule")
    page.click("#study-notes .notes-save")
    expect(page.locator("#study-notes-tags .stag")).to_have_text(["resnet", "gpu:a100"])
    page.screenshot("68-study-tags")

    page.goto("/")
    expect(names).to_have_count(2)
    page.click('#studies .stag[data-tag="resnet"]')
    expect(names).to_have_text(["tagged"])
    expect(page.locator("#list-summary")).to_contain_text("tagged resnet")
    page.screenshot("69-list-by-tag")
    page.click("#clear-tag")
    expect(names).to_have_count(2)
    page.fill("#list-search input[name=q]", "cosine")   # the search box reads the notes too
    page.press("#list-search input[name=q]", "Enter")
    expect(names).to_have_text(["tagged"])
