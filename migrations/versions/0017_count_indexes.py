"""count indexes: the lot list and the dashboard read indexes only, on ranges that stay small

``ix_spots_lot_counts`` holds every column the spot counts read (lot, status, occupied,
features), so a page of lots reads a range of it and never the table. The foreign key on
``spots.lot_id`` keeps ``uq_spots_lot_id_number``, so dropping it is safe on MariaDB too.

``ix_payments_paid`` (status, paid_at, lot, amount) replaces ``ix_payments_status_paid``
(status, paid_at): on that one MariaDB chose, by its statistics, to read every paid payment
ever made (``ref`` on status, 4,832 index entries for this month's 1,074) instead of this
month's range. With the covering index it reads the range, and the sums read the index alone.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 07:10:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_spots_lot_counts",
        "spots",
        ["lot_id", "status", "is_occupied", "feature_mask"],
        unique=False,
    )
    op.create_index(
        "ix_payments_paid",
        "payments",
        ["status", "paid_at", "lot_id", "amount_cents"],
        unique=False,
    )
    op.drop_index("ix_payments_status_paid", table_name="payments")


def downgrade():
    op.create_index("ix_payments_status_paid", "payments", ["status", "paid_at"], unique=False)
    op.drop_index("ix_payments_paid", table_name="payments")
    op.drop_index("ix_spots_lot_counts", table_name="spots")
