"""Login throttling (studies.models.LoginFailure, hpopt_web.login): five
wrong passwords for a username from one address refuse that username there
for the rest of the window, even with the right password; another address
still logs in; a right password forgets the failures before it; the admin's
own login page sends to the throttled one."""
from datetime import timedelta

import pytest
from django.test import Client

from studies.models import LoginFailure

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-123"


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create_user("carol", password=PASSWORD)


def login(client, password, username="carol"):
    return client.post("/login/", {"username": username, "password": password})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_username_from_that_address(carol):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(LoginFailure.LIMIT):
        assert login(client, "wrong").status_code == 200
    r = login(client, PASSWORD)
    assert r.status_code == 429
    assert "Too many failed logins" in r.content.decode() and "15 minutes" in r.content.decode()
    assert not logged_in(client)
    assert login(Client(REMOTE_ADDR="198.51.100.2"), PASSWORD).status_code == 302   # another address


def test_the_lock_ends_with_the_window(carol):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(LoginFailure.LIMIT):
        login(client, "wrong")
    LoginFailure.objects.update(at=LoginFailure.objects.first().at - LoginFailure.WINDOW - timedelta(seconds=1))
    assert login(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_right_password_forgets_the_failures_before_it(carol):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(LoginFailure.LIMIT - 1):
        login(client, "wrong")
    assert login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(LoginFailure.LIMIT - 1):
        login(client, "wrong")
    assert login(client, PASSWORD).status_code == 302


def test_the_username_is_counted_whatever_its_case(carol):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for name in ("carol", "Carol", "CAROL", "carol ", "cArol"):
        login(client, "wrong", username=name)
    assert login(client, PASSWORD).status_code == 429


def test_the_admin_login_page_sends_to_the_throttled_one(client):
    r = client.get("/admin/login/")
    assert (r.status_code, r["Location"]) == (302, "/login/?next=/admin/")
