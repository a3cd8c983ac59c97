"""The models and the migrations agree (CI runs makemigrations --check too)."""
import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_migration_is_missing():
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exc:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"makemigrations --check found model changes without a migration (exit {exc.code})")
