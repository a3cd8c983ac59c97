from django.urls import path

from runner import api, views

app_name = "runner"
urlpatterns = [
    path("workers/", views.workers, name="workers"),
]
#: included under /api/ (hpopt_web.urls)
api_urlpatterns = [
    path("trainers", api.trainers, name="api-trainers"),
    path("workers", api.workers, name="api-workers"),
]
