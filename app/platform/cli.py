"""The command-line edge: every ``flask`` command that writes runs through :func:`command_edge`
(one commit when it succeeds, then the tasks it enqueued are sent; a rollback and a clear message
when it fails), and ``flask jobs`` lists and runs the scheduled jobs. Each domain's own commands
live in its ``cli.py``."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from app.platform.errors import AppError
from app.platform.extensions import db
from app.platform.queue import send_ready_tasks
from app.platform.scheduling import discover_jobs

jobs_cli = AppGroup("jobs", help="List and run scheduled jobs.")


def command_edge(func: Callable) -> Callable:
    """Commit once when the command succeeds; roll back and explain an ``AppError``."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
            db.session.commit()
        except AppError as exc:
            db.session.rollback()
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.fields or {}).items())
            raise click.ClickException(exc.message + (f" ({details})" if details else "")) from exc
        except BaseException:
            db.session.rollback()
            raise
        send_ready_tasks()
        return result

    return run


@jobs_cli.command("list")
def jobs_list() -> None:
    """List every scheduled job."""
    for name, job in sorted(discover_jobs().items()):
        click.echo(f"{name:32} {job.cron:28} {job.description}")


@jobs_cli.command("run")
@click.argument("name")
@command_edge
def jobs_run(name: str) -> None:
    """Run one scheduled job now."""
    jobs = discover_jobs()
    if name not in jobs:
        raise click.ClickException(f"unknown job {name!r}; see 'flask jobs list'")
    result = jobs[name].func()
    click.echo(json.dumps({"job": name, "result": result}, default=str))
