"""hpopt: hyperparameter optimization that plans itself to a time budget.

The public surface follows the user guide: ``search_space``, ``create``,
``report``, ``reportOOM``, ``Status``; plus ``plan`` (Auto Config as data) and
``trainer`` (the registry the dashboard's workers run from). This package
never imports Django, RQ or Redis.
"""
from hpopt.client import report, report_oom, reportOOM
from hpopt.errors import ConfigError, HpoError, NoRoom
from hpopt.oom import is_out_of_memory
from hpopt.plan import Plan, plan
from hpopt.registry import get_trainer, registered_trainers, trainer
from hpopt.space import SearchSpace, SpaceExhausted, search_space
from hpopt.status import Decision, Status, StudyState, TrialState
from hpopt.study import HPO, create

__version__ = "0.2.0"

__all__ = [
    "search_space", "SearchSpace", "SpaceExhausted", "create", "HPO", "report", "reportOOM",
    "report_oom", "Status", "Decision", "TrialState", "StudyState", "plan", "Plan",
    "trainer", "get_trainer", "registered_trainers", "HpoError", "ConfigError", "NoRoom",
    "is_out_of_memory",
]
