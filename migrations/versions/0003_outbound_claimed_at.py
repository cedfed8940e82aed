"""outbound_messages.claimed_at: when the current attempt was claimed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:55:00

"""
from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', app.platform.models.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
