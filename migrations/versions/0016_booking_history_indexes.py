"""booking history indexes: a user's bookings in (started_at, id) order, with and without status

``GET /bookings`` takes the page's ids from one of these in index order (keyset cursors on
``(started_at, id)``). The index on ``user_id`` always leads one of them: InnoDB needs one for the
foreign key, so the new one is created before the old one is dropped (and the reverse on the
way down).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 07:20:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_bookings_user_status_started",
        "bookings",
        ["user_id", "status", "started_at", "id"],
        unique=False,
    )
    op.drop_index("ix_bookings_user_started", table_name="bookings")
    op.create_index(
        "ix_bookings_user_started", "bookings", ["user_id", "started_at", "id"], unique=False
    )


def downgrade():
    op.drop_index("ix_bookings_user_started", table_name="bookings")
    op.create_index("ix_bookings_user_started", "bookings", ["user_id", "started_at"], unique=False)
    op.drop_index("ix_bookings_user_status_started", table_name="bookings")
