# ParkMind API, worker and beat image: `docker build -t parkmind .`
# The same image runs gunicorn (default CMD), `celery ... worker`, `celery ... beat` and
# `flask db upgrade` (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    FLASK_APP=app:create_app \
    PARKMIND_INSTANCE_PATH=/var/lib/parkmind \
    PARKMIND_BIND=0.0.0.0:8000

WORKDIR /srv/parkmind

RUN groupadd --system parkmind \
    && useradd --system --gid parkmind --home-dir /srv/parkmind --shell /usr/sbin/nologin parkmind \
    && mkdir -p /var/lib/parkmind \
    && chown parkmind:parkmind /var/lib/parkmind

# The locked runtime requirements (every package pinned with its hashes) first, so code changes
# do not reinstall them.
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

COPY --chown=root:root . .

USER parkmind
EXPOSE 8000

# slim has no curl: ask the liveness endpoint with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py"]
