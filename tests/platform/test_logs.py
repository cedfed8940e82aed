"""Logs: one JSON object per line, the running task's name and id on lines logged in a task, and
Celery's worker and beat keep the app's handler instead of installing their own plain text."""

from __future__ import annotations

import io
import json
import logging

from celery import Celery

from app.platform.logs import HANDLER_NAME, build_handler


def _capture(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    logger.handlers[:] = [build_handler(json=True, stream=stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_logged_in_a_task_names_the_task():
    logger, stream = _capture("parkmind.test.task_logs")
    worker = Celery("log-test", set_as_current=False)
    worker.conf.task_always_eager = True

    @worker.task(name="tests.log_inside")
    def log_inside(spot_id: int) -> None:
        logger.info("spot %s checked", spot_id)

    logger.info("before any task")
    result = log_inside.apply(args=(7,))
    outside, inside = _lines(stream)

    assert outside["event"] == "before any task"
    assert "task_id" not in outside and "task_name" not in outside
    assert inside["event"] == "spot 7 checked"
    assert inside["task_name"] == "tests.log_inside"
    assert inside["task_id"] == result.id
    assert inside["level"] == "info"
    assert inside["logger"] == "parkmind.test.task_logs"
    assert inside["timestamp"].endswith("Z")


def test_exceptions_stay_on_one_json_line():
    logger, stream = _capture("parkmind.test.exc_logs")
    try:
        raise ValueError("bad spot")
    except ValueError:
        logger.exception("release failed")
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "release failed"
    assert "ValueError: bad spot" in record["exception"]


def test_celery_logging_setup_keeps_the_apps_handler():
    root = logging.getLogger()
    before_handlers, before_level = list(root.handlers), root.level
    ours = [build_handler(json=True, stream=io.StringIO())]  # as create_app installs it
    root.handlers[:] = [h for h in root.handlers if h.name != HANDLER_NAME] + ours
    celery_app = Celery("hijack-test", set_as_current=False)
    assert celery_app.conf.worker_hijack_root_logger  # what a worker would do without us
    celery_app.log.already_setup = False
    try:
        # What `celery worker` and `celery beat` call when they start.
        celery_app.log.setup_logging_subsystem(loglevel=logging.DEBUG)
        assert [h for h in root.handlers if h.name == HANDLER_NAME] == ours
        assert all(h in ours or h in before_handlers for h in root.handlers)
        assert root.level == logging.DEBUG  # --loglevel still applies
        assert logging.getLogger("celery.task").propagate
    finally:
        root.handlers[:] = before_handlers
        root.setLevel(before_level)
