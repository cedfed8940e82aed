"""Every table that holds something about a person is in the export and has a way out.

A model holds a person's data when it has a foreign key to ``users`` or to a table that does
(landmarks through parking events, positions through parking events...). Each such model must be
named by some domain's ``personal_data`` part; a new model that is not fails here.
"""

from __future__ import annotations

from app.platform.extensions import db
from app.platform.personal_data import discover_parts

# Tables that point at a person's table but hold nothing about the person. Each with its reason.
NOT_PERSONAL: dict[str, str] = {}


def personal_tables() -> set[str]:
    """``users`` and every table reaching it through foreign keys."""
    tables = db.metadata.tables
    found = {"users"}
    changed = True
    while changed:
        changed = False
        for name, table in tables.items():
            if name in found or name in NOT_PERSONAL:
                continue
            if any(fk.column.table.name in found for fk in table.foreign_keys):
                found.add(name)
                changed = True
    return found


def test_every_table_with_personal_data_is_in_an_export_part(app):
    with app.app_context():
        parts, _ = discover_parts()
        covered = {model.__table__.name for part in parts.values() for model in part.models}
        missing = sorted(personal_tables() - covered)
    assert not missing, f"add these tables to a domain's personal_data part: {missing}"


def test_the_closure_finds_tables_reached_only_through_other_tables(app):
    # Landmarks and positions have no user column: they are personal through parking events.
    with app.app_context():
        tables = personal_tables()
    assert {"landmarks", "retrieval_positions", "parking_events", "payments"} <= tables
    assert "lots" not in tables and "spots" not in tables


def test_every_part_has_a_readme_line_and_erasers_run_in_a_fixed_order(app):
    with app.app_context():
        parts, erasers = discover_parts()
    assert all(part.about.strip() for part in parts.values())
    orders = [eraser.order for eraser in erasers]
    assert orders == sorted(orders)
    # The account row goes last: everything else still finds the person's rows by id.
    assert erasers[-1].name == "accounts"
