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
from app.platform.cli import command_edge

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


@click.command("stats")
def stats_command() -> None:
    """Print headline figures."""
    click.echo(json.dumps(headline_figures(), indent=2))
