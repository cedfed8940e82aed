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
from app.platform.scheduling import ERRORS, Job, discover_jobs, foreground, record_success

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
        options = " ".join(f"[{param.option} ...]" for param in job.params)
        click.echo(f"{name:32} {job.cron:28} {job.description} {options}".rstrip())


@jobs_cli.command(
    "run", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.argument("name")
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def jobs_run(name: str, options: tuple[str, ...]) -> None:
    """Run one scheduled job now, with its options (``--month 2026-10``); exit 1 when it
    reports failures."""
    jobs = discover_jobs()
    if name not in jobs:
        raise click.UsageError(f"unknown job {name!r}; see 'flask jobs list'")
    kwargs = job_arguments(jobs[name], options)
    with foreground():
        result = _run_job(jobs[name], kwargs)
    click.echo(json.dumps({"job": name, "result": result}, default=str))
    failed = result.get(ERRORS) if isinstance(result, dict) else None
    if failed:
        raise click.ClickException(f"job {name!r}: {failed} failed (see the log); rerun to retry")


@command_edge
def _run_job(found: Job, kwargs: dict[str, Any]) -> Any:
    # The job's work commits even when some of it failed: what was sent stays sent. A run
    # without failures counts as the job's last success, as a run sent by beat does.
    result = found.func(**kwargs)
    if not (isinstance(result, dict) and result.get(ERRORS)):
        record_success(found.name)
    return result


def job_arguments(found: Job, options: tuple[str, ...]) -> dict[str, Any]:
    """``--name value`` / ``--name=value`` pairs parsed by the job's declared parameters; a
    usage error (exit 2) for anything else."""
    declared = {param.option: param for param in found.params}
    takes = ", ".join(declared) or "no options"
    kwargs: dict[str, Any] = {}
    items = list(options)
    while items:
        item = items.pop(0)
        option, has_value, value = item.partition("=")
        if option not in declared:
            raise click.UsageError(f"job {found.name!r} takes {takes}; not {item!r}")
        if not has_value:
            if not items:
                raise click.UsageError(f"{option} needs a value")
            value = items.pop(0)
        param = declared[option]
        try:
            kwargs[param.name] = param.parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=option) from exc
    return kwargs
