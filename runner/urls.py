from django.urls import path

from runner import views

app_name = "runner"
urlpatterns = [
    path("workers/", views.workers, name="workers"),
]
