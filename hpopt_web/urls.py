from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from runner.urls import api_urlpatterns as runner_api

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("studies.api.urls")),
    path("api/", include((runner_api, "runner-api"))),
    path("", include("runner.urls")),
    path("", include("studies.urls")),
]
