"""hpopt.progress.trial_count: the words the studies list and the study
page's Trials card share (issue 16: the card read "65 / 64 (+1 b…", the list
"65/64")."""
import pytest

from hpopt.progress import trial_count


@pytest.mark.parametrize(("created", "planned", "short", "note", "text"), [
    (10, 64, 0, "of 64 planned", "10 of 64 planned trials"),
    (64, 64, 0, "of 64 planned", "64 of 64 planned trials"),
    (65, 64, 1, "64 planned + 1 backfill", "65 trials (64 planned + 1 backfill)"),
    (12, 64, 2, "10 of 64 planned + 2 backfill", "12 trials (10 of 64 planned + 2 backfill)"),
    (70, 64, 0, "64 planned + 6 more within the budget", "70 trials (64 planned + 6 more within the budget)"),
    (72, 64, 2, "64 planned + 6 more within the budget + 2 backfill",
     "72 trials (64 planned + 6 more within the budget + 2 backfill)"),
    (1, None, 0, "", "1 trial"),
])
def test_it_says_how_many_trials_there_are_against_the_plan(created, planned, short, note, text):
    count = trial_count(created, planned, short)
    assert (count["note"], count["text"]) == (note, text)
    assert (count["created"], count["planned"], count["short"]) == (created, planned, short)
