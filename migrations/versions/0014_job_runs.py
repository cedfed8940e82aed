"""job_runs: when each scheduled job last succeeded (parkmind_job_last_success_timestamp)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 04:40:00

"""

from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_success_at", app.platform.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )


def downgrade():
    op.drop_table("job_runs")
