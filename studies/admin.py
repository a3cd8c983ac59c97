from django.contrib import admin

from studies.models import ApiToken, Attempt, Score, Study, Trial


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "trainer", "algorithm", "state", "parallelism", "archived", "created")
    list_filter = ("state", "archived", "algorithm", "trainer")
    search_fields = ("name", "tags")


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = ("id", "study", "number", "state", "bracket", "last_iteration", "iterations", "best_score",
                    "host", "gpu")
    list_filter = ("state", "excluded")
    raw_id_fields = ("study",)


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("id", "trial", "number", "worker", "device", "started", "ended", "outcome", "oom")
    list_filter = ("outcome", "oom")
    raw_id_fields = ("trial",)


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ("id", "trial", "iteration", "value", "created")
    raw_id_fields = ("study", "trial")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "prefix", "created", "last_used")
    readonly_fields = ("digest", "prefix", "created", "last_used")
