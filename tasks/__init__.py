"""Background work lives beside its domain: Celery tasks in ``app/<domain>/tasks.py`` (found by
Celery's autodiscovery) and scheduled jobs in ``app/<domain>/jobs.py`` (found by
``app.platform.scheduling``). The worker and beat start from ``celery_worker.py``."""
