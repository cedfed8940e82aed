"""``flask users``: account commands for operators."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.accounts.service import create_admin
from app.platform.cli import command_edge

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create-admin")
@click.option("--email", required=True, help="The admin's e-mail address.")
@click.option("--password", required=True, help="At least 12 characters.")
@click.option("--username", default=None, help="Defaults to the e-mail's local part.")
@command_edge
def create_admin_command(email: str, password: str, username: str | None) -> None:
    """Create an admin (or promote an existing account)."""
    user = create_admin(email=email, password=password, username=username)
    click.echo(f"admin {user.username} <{user.email}> ready (id {user.id})")
