"""A damaged study file (hpopt_study.json edited by hand, cut short, written
by something else): every read names the file and the damage (never a raw
KeyError or JSONDecodeError), damage that would pass silently is found too,
and resume=False starts a fresh study there, keeping the damaged file."""
import json
import warnings

import pytest

import hpopt
from hpopt.storage.file import STUDY_FILE
from hpopt.storage.filecheck import DamagedStudyFile
from tests.core.conftest import create


@pytest.fixture
def study_file(save_path):
    """A study with two trials reported on; its file's path."""
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=6, seed=0)
    for _ in range(2):
        config = hpo.get_next_sample()
        hpopt.report(config, 0.5, iteration=1)
    return save_path / STUDY_FILE


def edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def set_score(doc, value):
    doc["scores"]["0"]["1"] = value


DAMAGE = {
    "cut short": lambda p: p.write_text(p.read_text()[:-40]),
    "not an object": lambda p: p.write_text("[1, 2]"),
    "NaN score": lambda p: p.write_text(p.read_text().replace('"1":0.5', '"1":NaN', 1)),
    "string score": lambda p: edit(p, lambda d: set_score(d, "0.5")),
    "a trial missing (ids repeat)": lambda p: edit(p, lambda d: d["trials"].pop(0)),
    "meta null beside trials": lambda p: edit(p, lambda d: d.update(meta=None)),
    "no trials key": lambda p: edit(p, lambda d: d.pop("trials")),
    "settings that do not load": lambda p: edit(p, lambda d: d["meta"]["settings"].update(no_such_setting=1)),
}
#: what the message says for each
SAYS = {
    "cut short": "not a JSON study", "not an object": "not a study object", "NaN score": "NaN",
    "string score": "'0.5'", "a trial missing (ids repeat)": "has id 1", "meta null beside trials": '"meta" is null',
    "no trials key": "missing 'trials'", "settings that do not load": "do not load",
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_resuming_a_damaged_study_names_the_file_and_the_damage(study_file, save_path, damage):
    DAMAGE[damage](study_file)
    before = study_file.read_bytes()
    with pytest.raises(DamagedStudyFile) as err:
        create(save_path, search_alg="asha", num_trials=4, max_iterations=6, seed=0, resume=True)
    assert str(save_path) in str(err.value) and SAYS[damage] in str(err.value), str(err.value)
    assert "resume=False" in str(err.value)
    assert study_file.read_bytes() == before   # nothing was written over it


@pytest.mark.parametrize("damage", DAMAGE)
def test_resume_false_starts_fresh_and_keeps_the_damaged_file(study_file, save_path, damage):
    DAMAGE[damage](study_file)
    before = study_file.read_bytes()
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=6, seed=0, resume=False)
    config = hpo.get_next_sample()
    assert config["trial_id"] == 0
    assert hpopt.report(config, 0.25, iteration=1) == hpopt.Status.RUNNING
    kept = [p.read_bytes() for p in save_path.glob(STUDY_FILE + ".damaged-*")]
    # a file that reads as a study (only its settings are wrong) is an old study, which resume=False replaces
    assert kept == ([] if damage == "settings that do not load" else [before])


def test_a_report_on_a_file_damaged_meanwhile_names_the_file(study_file, save_path):
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=6, seed=0, resume=True)
    config = hpo.get_next_sample()
    DAMAGE["string score"](study_file)
    with pytest.raises(DamagedStudyFile, match="is damaged"):
        hpopt.report(config, 0.5, iteration=1)


def test_an_intact_study_resumes(study_file, save_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=6, seed=0, resume=True)
    with hpo.storage.locked():
        assert [t.trial_id for t in hpo.storage.trials()] == [0, 1]
