"""``flask seed`` and ``flask stats``: first data and headline figures for operators."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from app.accounts.service import create_admin
from app.admin.seed import demo_steps
from app.admin.service import headline_figures
from app.platform import rollups
from app.platform.cli import command_edge
from app.platform.extensions import db

seed_cli = AppGroup("seed", help="Create initial data.")


@seed_cli.command("run")
@click.option("--demo", is_flag=True, help="Also add demo lots and users (prints credentials).")
@command_edge
def seed_run(demo: bool) -> None:
    """Create the first admin from ADMIN_EMAIL/ADMIN_PASSWORD, and demo data with --demo."""
    email = current_app.config.get("ADMIN_EMAIL")
    password = current_app.config.get("ADMIN_PASSWORD")
    if email and password:
        admin = create_admin(email=email, password=password)
        click.echo(f"admin {admin.username} <{admin.email}> ready")
    elif email or password:
        raise click.ClickException("set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither")
    if demo:
        lines: list[str] = []
        with click.progressbar(demo_steps(), label="demo data", file=sys.stderr) as steps:
            for step in steps:
                lines.extend(step())
        for line in lines:
            click.echo(line)


@click.group("stats", invoke_without_command=True)
@click.pass_context
def stats_command(context: click.Context) -> None:
    """Print headline figures (``flask stats check`` compares the dashboard's counters)."""
    if context.invoked_subcommand is None:
        click.echo(json.dumps(headline_figures(), indent=2))


@stats_command.command("check")
@click.option("--fix", is_flag=True, help="Recount from the tables (run when nothing writes).")
@command_edge
def stats_check(fix: bool) -> None:
    """Compare the dashboard's kept counters with the tables; exit 1 when they differ."""
    connection = db.session.connection()
    found = rollups.drift(connection)
    for name, (kept, counted) in sorted(found.items()):
        click.echo(f"{name}: kept {kept}, counted {counted}")
    if found and fix:
        rollups.recount(connection)
        db.session.commit()
        click.echo("recounted")
        return
    if found:
        raise click.exceptions.Exit(1)
    click.echo("counters match the tables")
