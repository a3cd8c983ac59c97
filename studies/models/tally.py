from django.db import models


class StudyTally(models.Model):
    """A study's fold of its settled finished trials (studies.settled.Tally),
    kept so that a server process's first page of a big study reads it
    instead of folding 100,000 trials. ``until``: the trials last changed
    before it are in it; ``made``: when it was folded from scratch;
    ``generation`` goes up when it is invalidated (studies.settled.invalidate:
    a finished trial changed or was deleted), which every process checks."""

    study = models.OneToOneField("studies.Study", on_delete=models.CASCADE, primary_key=True,
                                 related_name="tally")
    generation = models.PositiveIntegerField(default=0)
    until = models.DateTimeField(null=True)
    made = models.DateTimeField(null=True)
    #: Tally.to_json(), or None when invalidated
    data = models.JSONField(null=True)

    def __str__(self):
        return f"tally of study {self.study_id} (generation {self.generation})"
