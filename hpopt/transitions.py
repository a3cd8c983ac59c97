"""The state machines of trials and studies: one table each, one check each.

Every change of a trial's or a study's state, in the library, the dashboard,
the sweeps and the workers, is checked here before it is written, and every
write is conditional on the state (and, for a trial, the attempt) the writer
read, so two writers can never both win (see Storage.update_trial and the
dashboard's conditional updates). A finished trial or study never changes.

Trial:  queued -> running -> completed | stopped | failed | killed | lost
        running -> paused (a pause at a report) -> queued (resume)
        running -> queued (an out-of-memory re-run, a lost attempt run again)
        queued  -> paused | killed | stopped (a re-run the budget cannot pay);  paused -> killed
        paused  -> stopped (waiting at an ASHA rung, never promoted: promotion="pause")
Study:  draft -> running <-> paused -> completed | killed | failed
        completed -> running (given more budget)
"""
from __future__ import annotations

from hpopt.errors import FinishedTrialError, IllegalTransition
from hpopt.status import StudyState, TrialState

_T = TrialState
#: state -> the states a trial may move to from it (staying is allowed while unfinished)
TRIAL_MOVES: dict[TrialState, frozenset[TrialState]] = {
    # queued -> stopped: a re-run the hard budget cannot pay for any more
    _T.QUEUED: frozenset({_T.RUNNING, _T.PAUSED, _T.KILLED, _T.STOPPED}),
    _T.RUNNING: frozenset({_T.COMPLETED, _T.STOPPED, _T.FAILED, _T.KILLED, _T.LOST, _T.PAUSED, _T.QUEUED}),
    # paused -> stopped: a trial waiting at an ASHA rung that the study ends without promoting
    _T.PAUSED: frozenset({_T.QUEUED, _T.KILLED, _T.STOPPED}),
    **{s: frozenset() for s in (_T.COMPLETED, _T.STOPPED, _T.FAILED, _T.KILLED, _T.LOST)},
}

_S = StudyState
STUDY_MOVES: dict[StudyState, frozenset[StudyState]] = {
    _S.DRAFT: frozenset({_S.RUNNING, _S.KILLED}),
    _S.RUNNING: frozenset({_S.PAUSED, _S.COMPLETED, _S.KILLED, _S.FAILED}),
    _S.PAUSED: frozenset({_S.RUNNING, _S.KILLED, _S.FAILED}),
    # completed -> running: given more budget, it goes on from its stored state
    _S.COMPLETED: frozenset({_S.RUNNING}),
    **{s: frozenset() for s in (_S.KILLED, _S.FAILED)},
}


def check_trial(old: TrialState, new: TrialState, trial_id=None) -> None:
    """Raises FinishedTrialError for any write to a finished trial, and
    IllegalTransition for a move the table does not allow."""
    who = "a trial" if trial_id is None else f"trial {trial_id}"
    if old.is_finished():
        raise FinishedTrialError(f"{who} is {old.value}: a finished trial never changes")
    if new is not old and new not in TRIAL_MOVES[old]:
        raise IllegalTransition(f"{who} cannot move from {old.value} to {new.value}")


def trial_sources(to: TrialState, among=None) -> frozenset[TrialState]:
    """The states a trial may move to ``to`` from (limited to ``among`` when
    given): what a conditional update filters on."""
    found = frozenset(s for s, moves in TRIAL_MOVES.items() if to in moves or (s is to and not s.is_finished()))
    return found if among is None else found & frozenset(among)


def check_study(old: StudyState, new: StudyState, study_id=None) -> None:
    who = "a study" if study_id is None else f"study {study_id}"
    if new not in STUDY_MOVES[old]:
        raise IllegalTransition(f"{who} cannot move from {old.value} to {new.value}")


def study_sources(to: StudyState, among=None) -> frozenset[StudyState]:
    found = frozenset(s for s, moves in STUDY_MOVES.items() if to in moves)
    return found if among is None else found & frozenset(among)
