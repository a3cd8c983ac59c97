from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "studies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # report() finds the database storage through the core's backend registry
        from studies import storage  # noqa: F401
