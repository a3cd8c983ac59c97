from django.db import models


class Score(models.Model):
    """One reported value. Unique per (trial, iteration): a re-run that trains
    an iteration again replaces its value. ``id`` is the live pages' cursor."""

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="scores")
    trial = models.ForeignKey("studies.Trial", on_delete=models.CASCADE, related_name="scores")
    iteration = models.PositiveIntegerField()
    value = models.FloatField()
    created = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trial", "iteration"], name="score_unique_trial_iteration"),
        ]
        indexes = [models.Index(fields=["study", "id"], name="score_study_cursor")]

    def __str__(self):
        return f"{self.trial} @{self.iteration}: {self.value}"
