"""Operator commands: ``flask seed``, ``flask users``, ``flask jobs``, ``flask stats``."""

from __future__ import annotations

import json
import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.errors import AppError
from app.extensions import db

seed_cli = AppGroup("seed", help="Create initial data.")
users_cli = AppGroup("users", help="Manage users.")
jobs_cli = AppGroup("jobs", help="List and run scheduled jobs.")


def _fail(exc: AppError) -> None:
    db.session.rollback()
    details = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.fields or {}).items())
    raise click.ClickException(exc.message + (f" ({details})" if details else ""))


@users_cli.command("create-admin")
@click.option("--email", required=True, help="The admin's e-mail address.")
@click.option("--password", required=True, help="At least 12 characters.")
@click.option("--username", default=None, help="Defaults to the e-mail's local part.")
def create_admin_command(email: str, password: str, username: str | None) -> None:
    """Create an admin (or promote an existing account)."""
    from app.services.users import create_admin

    try:
        user = create_admin(email=email, password=password, username=username)
        db.session.commit()
    except AppError as exc:
        _fail(exc)
    click.echo(f"admin {user.username} <{user.email}> ready (id {user.id})")


@seed_cli.command("run")
@click.option("--demo", is_flag=True, help="Also add demo lots and users (prints credentials).")
def seed_run(demo: bool) -> None:
    """Create the first admin from ADMIN_EMAIL/ADMIN_PASSWORD, and demo data with --demo."""
    from app.services.seed import seed_demo
    from app.services.users import create_admin

    email = current_app.config.get("ADMIN_EMAIL")
    password = current_app.config.get("ADMIN_PASSWORD")
    try:
        if email and password:
            admin = create_admin(email=email, password=password)
            click.echo(f"admin {admin.username} <{admin.email}> ready")
        elif email or password:
            raise click.ClickException("set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither")
        if demo:
            credentials = seed_demo()
            for line in credentials:
                click.echo(line)
        db.session.commit()
    except AppError as exc:
        _fail(exc)


@jobs_cli.command("list")
def jobs_list() -> None:
    """List every scheduled job."""
    from app.jobs import load_jobs

    for name, job in sorted(load_jobs().items()):
        click.echo(f"{name:32} {job.schedule:28} {job.description}")


@jobs_cli.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run one scheduled job now."""
    from app.jobs import load_jobs

    jobs = load_jobs()
    if name not in jobs:
        raise click.ClickException(f"unknown job {name!r}; see 'flask jobs list'")
    from app.services.dispatch import send_ready_tasks

    result = jobs[name].func()
    db.session.commit()
    send_ready_tasks()
    click.echo(json.dumps({"job": name, "result": result}, default=str))


@click.command("stats")
def stats_command() -> None:
    """Print headline figures."""
    from app.models import Booking, Lot, ParkingEvent, User

    figures = {
        "users": db.session.scalar(select(func.count(User.id))),
        "lots": db.session.scalar(select(func.count(Lot.id)).where(Lot.deleted_at.is_(None))),
        "active_bookings": db.session.scalar(
            select(func.count(Booking.id)).where(Booking.status == "active")
        ),
        "parking_events": db.session.scalar(select(func.count(ParkingEvent.id))),
    }
    click.echo(json.dumps(figures, indent=2))


def generated_password() -> str:
    """A random password for demo accounts."""
    return secrets.token_urlsafe(12)


def register_cli(app: Flask) -> None:
    """Attach the command groups to ``flask``."""
    app.cli.add_command(seed_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(stats_command)
