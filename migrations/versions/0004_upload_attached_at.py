"""uploads.attached_at: when a profile, parking event or landmark took the photo

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:20:00

"""
from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attached_at', app.platform.models.UTCDateTime(), nullable=True))
    # Photos already in use: attached since they were completed.
    op.execute(
        "UPDATE uploads SET attached_at = completed_at WHERE id IN ("
        " SELECT avatar_upload_id FROM users WHERE avatar_upload_id IS NOT NULL"
        " UNION SELECT photo_upload_id FROM parking_events WHERE photo_upload_id IS NOT NULL"
        " UNION SELECT photo_upload_id FROM landmarks WHERE photo_upload_id IS NOT NULL)"
    )


def downgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_column('attached_at')
