"""exports.heartbeat_at: the producing task's heartbeat, so a dead worker's export resumes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 23:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', app.platform.models.UTCDateTime(), nullable=True))
    # Exports running at upgrade time: their last sign of life is when they started.
    op.execute("UPDATE exports SET heartbeat_at = started_at WHERE status = 'running'")


def downgrade():
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
