from django.urls import path

from studies.api import analysis, compare, definitions, lifecycle, tokens, views
from studies.api import list as study_list

app_name = "api"
urlpatterns = [
    path("studies", study_list.studies, name="studies"),
    path("studies/<int:pk>", views.study_detail, name="study"),
    path("studies/<int:pk>/best-config", views.best_config_download, name="best-config"),
    path("studies/<int:pk>/trials.csv", views.trials_csv, name="trials-csv"),
    path("studies/<int:pk>/trials", views.study_trials, name="study-trials"),
    path("studies/<int:pk>/budget", views.study_budget, name="study-budget"),
    path("studies/<int:pk>/archive", lifecycle.study_archive, {"archived": True}, name="study-archive"),
    path("studies/<int:pk>/unarchive", lifecycle.study_archive, {"archived": False}, name="study-unarchive"),
    path("studies/<int:pk>/delete", lifecycle.study_delete, name="study-delete"),
    path("studies/<int:pk>/notes", lifecycle.study_notes, name="study-notes"),
    path("studies/<int:pk>/analysis", analysis.study_analysis, name="study-analysis"),
    path("studies/<int:pk>/analysis/contour", analysis.study_contour, name="study-contour"),
    path("studies/<int:pk>/clone", definitions.study_clone, name="study-clone"),
    path("studies/<int:pk>/edit", definitions.study_edit, name="study-edit"),
    path("studies/<int:pk>/enqueue", definitions.study_enqueue, name="study-enqueue"),
    path("studies/<int:pk>/compare", compare.compare_trials, name="compare-trials"),
    path("compare", compare.compare_studies, name="compare-studies"),
    path("studies/<int:pk>/<str:action>", views.study_action, name="study-action"),
    path("trials/<int:pk>", views.trial_detail, name="trial"),
    path("trials/<int:pk>/exclude", lifecycle.trial_exclude, {"excluded": True}, name="trial-exclude"),
    path("trials/<int:pk>/include", lifecycle.trial_exclude, {"excluded": False}, name="trial-include"),
    path("trials/<int:pk>/notes", lifecycle.trial_notes, name="trial-notes"),
    path("trials/<int:pk>/<str:action>", views.trial_action, name="trial-action"),
    path("plan", views.plan_preview, name="plan"),
    path("tokens", tokens.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke", tokens.revoke, name="token-revoke"),
]
