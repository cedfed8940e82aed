"""history indexes: a user's parking events and payments in (time, id) order

``GET /parking-events`` and ``GET /payments`` take the page's ids from these in index order
(keyset cursors on ``(parked_at, id)`` and ``(created_at, id)``). Each replaces an index without
the id; the new one is created before the old one is dropped (InnoDB keeps an index leading
with ``user_id`` for the foreign key at every step), and the reverse on the way down.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 07:30:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# (table, new index, its columns, the index it replaces, that one's columns)
REPLACED = [
    (
        "parking_events",
        "ix_parking_events_user_status_history",
        ["user_id", "status", "parked_at", "id"],
        "ix_parking_events_user_status_parked",
        ["user_id", "status", "parked_at"],
    ),
    (
        "payments",
        "ix_payments_user_history",
        ["user_id", "created_at", "id"],
        "ix_payments_user_created",
        ["user_id", "created_at"],
    ),
]


def upgrade():
    op.create_index(
        "ix_parking_events_user_history", "parking_events", ["user_id", "parked_at", "id"]
    )
    for table, new, columns, old, _ in REPLACED:
        op.create_index(new, table, columns)
        op.drop_index(old, table_name=table)


def downgrade():
    for table, new, _, old, old_columns in REPLACED:
        op.create_index(old, table, old_columns)
        op.drop_index(new, table_name=table)
    op.drop_index("ix_parking_events_user_history", table_name="parking_events")
