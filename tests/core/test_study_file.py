"""A damaged study file (the journal edited by hand, written by something
else; an older hpopt's hpopt_study.json cut short): every read names the file
and the damage (never a raw KeyError or JSONDecodeError), damage that would
pass silently is found too, and resume=False starts a fresh study there,
keeping the damaged file. A record cut short by a killed writer is not
damage: it is ignored, and the next writer overwrites it."""
import json
import shutil
import warnings
from pathlib import Path

import pytest

import hpopt
from hpopt.storage.file import JOURNAL_FILE, STUDY_FILE
from hpopt.storage.filecheck import DamagedStudyFile
from tests.core.conftest import create

#: hpopt_study.json as the hpopt before the journal wrote it (commit 53e29cd):
#: an ASHA study (seed 3, 6 trials of 6 iterations) with two trials completed,
#: one stopped at its first rung and one left running by a process that is gone
BEFORE_JOURNAL = Path(__file__).parent / "data" / "hpopt_study_before_journal.json"
OLD_STUDY = dict(search_alg="asha", num_trials=6, max_iterations=6, seed=3)
STUDY = dict(search_alg="asha", num_trials=4, max_iterations=6, seed=0)


@pytest.fixture
def journal(save_path):
    """A study with two trials reported on; its journal's path."""
    hpo = create(save_path, **STUDY)
    for _ in range(2):
        config = hpo.get_next_sample()
        hpopt.report(config, 0.5, iteration=1)
    return save_path / JOURNAL_FILE


@pytest.fixture
def old_file(save_path):
    """The study file of an older hpopt under save_path; its path."""
    save_path.mkdir()
    return Path(shutil.copy(BEFORE_JOURNAL, save_path / STUDY_FILE))


def lines(path) -> list[str]:
    return path.read_text().splitlines()


def edit_line(path, index, change):
    """Rewrites the journal's line ``index`` (a JSON value) through ``change``."""
    rows = lines(path)
    value = json.loads(rows[index])
    change(value)
    rows[index] = json.dumps(value)
    path.write_text("\n".join(rows) + "\n")


def first_line_with(path, text) -> int:
    return next(i for i, row in enumerate(lines(path)) if text in row)


def replace_in_line(path, text, new):
    rows = lines(path)
    i = first_line_with(path, text)
    rows[i] = rows[i].replace(text, new, 1)
    path.write_text("\n".join(rows) + "\n")


def edit_doc(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def stored(save_path):
    """(trials as dicts, scores) as a process opening save_path reads them."""
    storage = hpopt.storage.FileStorage(str(save_path))
    with storage.locked():
        return [t.to_dict() for t in storage.trials()], storage.all_scores()


JOURNAL_DAMAGE = {
    "a line that is not JSON": lambda p: replace_in_line(p, '["score",', '["score",,'),
    "not a journal": lambda p: p.write_text('{"trials": []}\n' + p.read_text()),
    "NaN score": lambda p: replace_in_line(p, ',0.5]', ',NaN]'),
    "string score": lambda p: replace_in_line(p, ',0.5]', ',"0.5"]'),
    "a score for a trial it does not hold": lambda p: replace_in_line(p, '["score",1,', '["score",7,'),
    "trial ids out of order": lambda p: replace_in_line(p, '"trial_id":1,', '"trial_id":0,'),
    "an unknown state": lambda p: replace_in_line(p, '"state":"running"', '"state":"sleeping"'),
}
JOURNAL_SAYS = {
    "a line that is not JSON": "is not JSON", "not a journal": "not an hpopt journal header", "NaN score": "NaN",
    "string score": "'0.5'", "a score for a trial it does not hold": "trial 7, which the journal does not hold",
    "trial ids out of order": "has id 0", "an unknown state": "'sleeping'",
}
OLD_DAMAGE = {
    "cut short": lambda p: p.write_text(p.read_text()[:-40]),
    "not an object": lambda p: p.write_text("[1, 2]"),
    "NaN score": lambda p: p.write_text(p.read_text().replace('"1":0.3', '"1":NaN', 1)),
    "string score": lambda p: edit_doc(p, lambda d: d["scores"]["0"].update({"1": "0.5"})),
    "a trial missing (ids repeat)": lambda p: edit_doc(p, lambda d: d["trials"].pop(0)),
    "meta null beside trials": lambda p: edit_doc(p, lambda d: d.update(meta=None)),
    "no trials key": lambda p: edit_doc(p, lambda d: d.pop("trials")),
    "settings that do not load": lambda p: edit_doc(p, lambda d: d["meta"]["settings"].update(no_such_setting=1)),
}
OLD_SAYS = {
    "cut short": "not a JSON study", "not an object": "not a study object", "NaN score": "NaN",
    "string score": "'0.5'", "a trial missing (ids repeat)": "has id 1", "meta null beside trials": '"meta" is null',
    "no trials key": "missing 'trials'", "settings that do not load": "do not load",
}


# -- the journal -----------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", JOURNAL_DAMAGE)
def test_resuming_a_damaged_journal_names_the_file_and_the_damage(journal, save_path, damage):
    JOURNAL_DAMAGE[damage](journal)
    before = journal.read_bytes()
    with pytest.raises(DamagedStudyFile) as err:
        create(save_path, **STUDY, resume=True)
    assert str(journal) in str(err.value) and JOURNAL_SAYS[damage] in str(err.value), str(err.value)
    assert "resume=False" in str(err.value)
    assert journal.read_bytes() == before   # nothing was written over it


@pytest.mark.parametrize("damage", JOURNAL_DAMAGE)
def test_resume_false_starts_fresh_and_keeps_the_damaged_journal(journal, save_path, damage):
    JOURNAL_DAMAGE[damage](journal)
    before = journal.read_bytes()
    hpo = create(save_path, **STUDY, resume=False)
    config = hpo.get_next_sample()
    assert config["trial_id"] == 0
    assert hpopt.report(config, 0.25, iteration=1) == hpopt.Status.RUNNING
    assert [p.read_bytes() for p in save_path.glob(JOURNAL_FILE + ".damaged-*")] == [before]


def test_a_report_on_a_journal_damaged_meanwhile_names_the_file(journal, save_path):
    hpo = create(save_path, **STUDY, resume=True)
    config = hpo.get_next_sample()   # this process has read the journal: the report reads only what follows
    with journal.open("a") as f:
        f.write('[["score",0,2,"0.5"]]\n')
    with pytest.raises(DamagedStudyFile, match="is damaged: line"):
        hpopt.report(config, 0.5, iteration=1)


def test_an_intact_study_resumes(journal, save_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hpo = create(save_path, **STUDY, resume=True)
    with hpo.storage.locked():
        assert [t.trial_id for t in hpo.storage.trials()] == [0, 1]


# -- a record cut short ------------------------------------------------------------------------------
def test_a_record_cut_short_anywhere_is_ignored_whole(journal, save_path):
    """A writer killed mid-write leaves the start of its record: at every
    point of the last record, the study reads as it was before that block."""
    before = stored(save_path)
    config = create(save_path, **STUDY, resume=True).get_next_sample()   # one block: the trial starts
    after = stored(save_path)
    assert after != before
    whole = journal.read_bytes()
    last = whole.rstrip(b"\n").rfind(b"\n") + 1
    for cut in range(last + 1, len(whole)):
        journal.write_bytes(whole[:cut])
        assert stored(save_path) == before, f"cut at byte {cut} of {len(whole)}"
    journal.write_bytes(whole)
    assert stored(save_path) == after
    assert config["trial_id"] == 2


def test_the_next_writer_overwrites_a_record_cut_short(journal, save_path):
    before = stored(save_path)
    hpo = create(save_path, **STUDY, resume=True)
    hpo.get_next_sample()
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-25])   # the hand-out's record, cut short
    hpo = create(save_path, **STUDY, resume=True)
    assert stored(save_path) == before
    config = hpo.get_next_sample()     # the same trial is handed out again, in place of the torn record
    assert config["trial_id"] == 2
    assert hpopt.report(config, 0.75, iteration=1) == hpopt.Status.RUNNING
    rows = lines(journal)
    assert all(isinstance(json.loads(row), (list, dict)) for row in rows)   # no fragment left between records
    trials, scores = stored(save_path)
    assert len(trials) == 3 and scores[2] == [(1, 0.75)]


# -- a study file of an older hpopt ----------------------------------------------------------------------
def test_a_study_file_of_an_older_hpopt_resumes_with_every_trial_and_score(old_file, save_path):
    doc = json.loads(old_file.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # the saved save_path differs
        hpo = create(save_path, **OLD_STUDY, resume=True)
    trials, scores = stored(save_path)
    assert [(t["params"], t["best_score"], t["iterations"]) for t in trials] == \
           [(t["params"], t["best_score"], t["iterations"]) for t in doc["trials"]]
    assert [t["state"] for t in trials[:3]] == [t["state"] for t in doc["trials"][:3]]
    assert scores == {int(t): sorted((int(i), v) for i, v in per.items()) for t, per in doc["scores"].items()}
    # the old file is kept beside the journal, as it was
    assert (save_path / (STUDY_FILE + ".migrated")).read_bytes() == BEFORE_JOURNAL.read_bytes()
    assert not old_file.exists()
    # and the study goes on from there to its end
    while (config := hpo.get_next_sample()) is not None:
        for epoch in range(1, config["iterations"] + 1):
            if hpopt.report(config, 0.1 * epoch) == hpopt.Status.STOP:
                break
    trials, _ = stored(save_path)
    assert len(trials) >= 6 and all(hpopt.TrialState(t["state"]).is_finished() for t in trials)
    assert trials[0]["best_score"] == doc["trials"][0]["best_score"]


@pytest.mark.parametrize("damage", OLD_DAMAGE)
def test_resuming_a_damaged_older_study_file_names_the_file_and_the_damage(old_file, save_path, damage):
    OLD_DAMAGE[damage](old_file)
    before = old_file.read_bytes()
    with pytest.raises(DamagedStudyFile) as err:
        create(save_path, **OLD_STUDY, resume=True)
    assert str(save_path) in str(err.value) and OLD_SAYS[damage] in str(err.value), str(err.value)
    assert "resume=False" in str(err.value)
    # nothing was written over it (a file that reads as a study was migrated, and kept as it was)
    kept = old_file if old_file.exists() else save_path / (STUDY_FILE + ".migrated")
    assert kept.read_bytes() == before


@pytest.mark.parametrize("damage", OLD_DAMAGE)
def test_resume_false_starts_fresh_and_keeps_the_damaged_older_study_file(old_file, save_path, damage):
    OLD_DAMAGE[damage](old_file)
    before = old_file.read_bytes()
    hpo = create(save_path, **STUDY, resume=False)
    config = hpo.get_next_sample()
    assert config["trial_id"] == 0
    assert hpopt.report(config, 0.25, iteration=1) == hpopt.Status.RUNNING
    kept = [p.read_bytes() for p in save_path.glob(STUDY_FILE + ".damaged-*")]
    # a file that reads as a study (only its settings are wrong) is an old study, which resume=False replaces
    assert kept == ([] if damage == "settings that do not load" else [before])
