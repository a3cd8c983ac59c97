from studies.models.attempt import Attempt
from studies.models.login import LoginFailure
from studies.models.score import Score
from studies.models.study import Study
from studies.models.tally import StudyTally
from studies.models.token import ApiToken
from studies.models.trial import Trial

__all__ = ["Study", "Trial", "Attempt", "Score", "ApiToken", "LoginFailure", "StudyTally"]
