"""Celery tasks. Each loads what it needs by id, calls a service, and is safe to run twice."""
