"""payments by lot and time paid: the dashboard's per-lot revenue reads the page's lots only

``ix_payments_lot_paid`` (lot, status, paid_at, amount) gives each lot of a dashboard page its
paid payments of this month as one short range, read from the index alone. It replaces
``ix_payments_paid`` (status, paid_at, lot, amount), which served the all-lots sums that the kept
revenue slots (``stat_counters``) now answer.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 10:40:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_payments_lot_paid",
        "payments",
        ["lot_id", "status", "paid_at", "amount_cents"],
        unique=False,
    )
    op.drop_index("ix_payments_paid", table_name="payments")


def downgrade():
    op.create_index(
        "ix_payments_paid",
        "payments",
        ["status", "paid_at", "lot_id", "amount_cents"],
        unique=False,
    )
    op.drop_index("ix_payments_lot_paid", table_name="payments")
