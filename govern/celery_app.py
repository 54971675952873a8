"""Celery entry point for the command line: `celery -A govern.celery_app worker` (and `beat`)."""

from govern import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
