"""spot count index: the lot list and the dashboard count spots from an index alone

``ix_spots_lot_counts`` holds every column the counts read (lot, status, occupied, features), so a
page of lots reads a range of it and never the table. The foreign key on ``spots.lot_id`` keeps
``uq_spots_lot_id_number``, so dropping this index is safe on MariaDB and MySQL too.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 09:12:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_spots_lot_counts",
        "spots",
        ["lot_id", "status", "is_occupied", "feature_mask"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_spots_lot_counts", table_name="spots")
