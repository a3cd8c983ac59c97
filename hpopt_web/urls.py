from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from hpopt_web.login import ThrottledLoginView
from runner.urls import api_urlpatterns as runner_api

urlpatterns = [
    path("login/", ThrottledLoginView.as_view(), name="login"),
    # the admin's own login page is not throttled: it sends to the one that is
    path("admin/login/", RedirectView.as_view(url="/login/?next=/admin/", query_string=False)),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("studies.api.urls")),
    path("api/", include((runner_api, "runner-api"))),
    path("", include("runner.urls")),
    path("", include("studies.urls")),
]

# JSON under /api/, Django's pages elsewhere (hpopt_web.errors)
handler400 = "hpopt_web.errors.bad_request"
handler403 = "hpopt_web.errors.permission_denied"
handler404 = "hpopt_web.errors.page_not_found"
handler500 = "hpopt_web.errors.server_error"
