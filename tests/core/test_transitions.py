"""One state machine (hpopt.transitions): every move of a trial or a study is
checked against one table, a finished trial never changes, and a write that
finds the trial changed since it was read writes nothing."""
import pytest
from conftest import create

from hpopt import controls, engine, transitions
from hpopt.errors import FinishedTrialError, IllegalTransition, StaleWrite
from hpopt.status import FINISHED_STATES, StudyState, TrialState

T, S = TrialState, StudyState


@pytest.mark.parametrize("old, new", [
    (T.QUEUED, T.RUNNING), (T.QUEUED, T.PAUSED), (T.QUEUED, T.KILLED),
    (T.RUNNING, T.RUNNING), (T.RUNNING, T.COMPLETED), (T.RUNNING, T.STOPPED), (T.RUNNING, T.FAILED),
    (T.RUNNING, T.KILLED), (T.RUNNING, T.LOST), (T.RUNNING, T.PAUSED), (T.RUNNING, T.QUEUED),
    (T.PAUSED, T.QUEUED), (T.PAUSED, T.KILLED), (T.PAUSED, T.STOPPED),
])
def test_the_table_allows_the_documented_trial_moves(old, new):
    transitions.check_trial(old, new)


@pytest.mark.parametrize("old, new", [
    (T.QUEUED, T.COMPLETED), (T.QUEUED, T.LOST), (T.PAUSED, T.RUNNING), (T.PAUSED, T.COMPLETED),
])
def test_any_other_trial_move_is_refused_by_name(old, new):
    with pytest.raises(IllegalTransition, match=f"trial 7 cannot move from {old.value} to {new.value}"):
        transitions.check_trial(old, new, 7)


@pytest.mark.parametrize("old", sorted(FINISHED_STATES))
@pytest.mark.parametrize("new", list(TrialState))
def test_a_finished_trial_never_changes(old, new):
    with pytest.raises(FinishedTrialError, match="a finished trial never changes"):
        transitions.check_trial(old, new, 3)


def test_the_sources_of_a_move_are_what_a_conditional_update_filters_on():
    assert transitions.trial_sources(T.KILLED) == {T.QUEUED, T.RUNNING, T.PAUSED}
    assert transitions.trial_sources(T.QUEUED, among=[T.PAUSED, T.COMPLETED]) == {T.PAUSED}
    assert transitions.study_sources(S.FAILED) == {S.RUNNING, S.PAUSED}


@pytest.mark.parametrize("old, new", [(S.DRAFT, S.PAUSED), (S.KILLED, S.RUNNING), (S.FAILED, S.RUNNING),
                                      (S.KILLED, S.KILLED), (S.COMPLETED, S.PAUSED)])
def test_illegal_study_moves_are_refused(old, new):
    with pytest.raises(IllegalTransition):
        transitions.check_study(old, new)


def test_a_completed_study_runs_again_only_when_given_more_budget():
    transitions.check_study(S.COMPLETED, S.RUNNING)
    assert transitions.study_sources(S.RUNNING) == {S.DRAFT, S.PAUSED, S.COMPLETED}


def test_the_storage_refuses_to_change_a_finished_trial(save_path):
    hpo = create(save_path, search_alg="bayes_opt", num_trials=2, max_iterations=2)
    config = hpo.get_next_sample()
    engine.report(hpo.storage, config["trial_id"], 0.5, 2)   # its last iteration: completed
    with hpo.storage.locked():
        done = hpo.storage.get_trial(config["trial_id"])
        assert done.state is T.COMPLETED
        with pytest.raises(FinishedTrialError):
            hpo.storage.update_trial(done, done.replace(best_score=0.9))
        with pytest.raises(FinishedTrialError):
            hpo.storage.update_trial(done, done.replace(state=T.RUNNING))
    assert not controls.kill(hpo.storage, config["trial_id"])   # answered, nothing written
    with hpo.storage.locked():
        assert hpo.storage.get_trial(config["trial_id"]) == done


def test_a_write_based_on_a_stale_read_writes_nothing(save_path):
    hpo = create(save_path, search_alg="bayes_opt", num_trials=2, max_iterations=4)
    config = hpo.get_next_sample()
    with hpo.storage.locked():
        read = hpo.storage.get_trial(config["trial_id"])
    controls.kill(hpo.storage, config["trial_id"])              # someone else changes it first
    with hpo.storage.locked(), pytest.raises(StaleWrite):
        hpo.storage.update_trial(read, read.replace(last_iteration=3))
    with hpo.storage.locked():
        assert hpo.storage.get_trial(config["trial_id"]).state is T.KILLED
