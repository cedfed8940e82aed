"""live lots by name: the lot list reads its page in index order

``GET /lots`` lists live lots by (name, id). ``ix_lots_live_name`` (deleted_at, name, id) holds
them in that order, so a page is read from the index up to its end instead of sorting every lot
(at 10,000 lots, SQLite's temporary B-tree cost 1.5 ms of a 7 ms request). It replaces
``ix_lots_deleted_at``, its prefix.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 11:40:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_lots_live_name", "lots", ["deleted_at", "name", "id"], unique=False)
    op.drop_index("ix_lots_deleted_at", table_name="lots")


def downgrade():
    op.create_index("ix_lots_deleted_at", "lots", ["deleted_at"], unique=False)
    op.drop_index("ix_lots_live_name", table_name="lots")
