"""exports: the CSV profile (default or excel) and the progress of a running export

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 05:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("exports") as batch:
        batch.add_column(
            sa.Column("profile", sa.String(length=16), nullable=False, server_default="default")
        )
        batch.add_column(sa.Column("progress", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("exports") as batch:
        batch.drop_column("progress")
        batch.drop_column("profile")
