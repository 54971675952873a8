"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from govern import create_app

app = create_app()
