from django.urls import path

from studies import views

app_name = "studies"
urlpatterns = [
    path("", views.study_list, name="list"),
    path("studies/new/", views.study_new, name="new"),
    path("studies/<int:pk>/", views.study_detail, name="detail"),
    path("studies/<int:pk>/edit/", views.study_edit, name="edit"),
    path("studies/<int:pk>/compare/", views.compare_trials, name="compare-trials"),
    path("compare/", views.compare_studies, name="compare-studies"),
    path("trials/<int:pk>/", views.trial_detail, name="trial"),
    path("tokens/", views.tokens, name="tokens"),
]
