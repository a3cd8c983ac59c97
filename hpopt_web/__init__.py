"""The Django project: settings from environment variables, urls, wsgi, the ``hpopt-web`` command."""
