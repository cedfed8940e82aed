"""foreign key indexes: every foreign key column leads an index on every database

PostgreSQL and SQLite create no index for a foreign key; InnoDB creates one named after the
constraint and drops it by itself once another index can serve the key. Downgrading on MariaDB
and MySQL therefore puts that constraint-named index back before dropping ours (InnoDB refuses
to drop the last index a foreign key uses).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 06:44:47

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# (table, column, the table the key refers to)
FOREIGN_KEYS = [
    ("access_log", "actor_id", "users"),
    ("alerts", "acknowledged_by_id", "users"),
    ("alerts", "assist_id", "assist_requests"),
    ("alerts", "resolved_by_id", "users"),
    ("bookings", "spot_id", "spots"),
    ("circle_audit", "actor_id", "users"),
    ("circle_audit", "member_id", "users"),
    ("circle_audit", "membership_id", "circle_memberships"),
    ("landmarks", "photo_upload_id", "uploads"),
    ("parking_events", "photo_upload_id", "uploads"),
]


def upgrade():
    for table, column, _referred in FOREIGN_KEYS:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def downgrade():
    innodb = op.get_bind().dialect.name in ("mysql", "mariadb")
    for table, column, referred in FOREIGN_KEYS:
        if innodb:
            op.create_index(f"fk_{table}_{column}_{referred}", table, [column], unique=False)
        op.drop_index(f"ix_{table}_{column}", table_name=table)
