"""admin audit log; paid payments index

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 01:53:24.061477

"""

from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("detail", app.platform.models.JSONText(), nullable=True),
        sa.Column("created_at", app.platform.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_admin_audit_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit")),
    )
    with op.batch_alter_table("admin_audit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_admin_audit_action_created", ["action", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_admin_audit_actor_created", ["actor_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_admin_audit_created", ["created_at"], unique=False)
        batch_op.create_index("ix_admin_audit_target", ["target_type", "target_id"], unique=False)

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_status_paid", ["status", "paid_at"], unique=False)


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status_paid")

    # Dropping the table drops its indexes (MariaDB refuses to drop those a foreign key uses).
    op.drop_table("admin_audit")
