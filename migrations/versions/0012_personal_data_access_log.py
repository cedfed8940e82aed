"""personal data: access log, erased accounts, personal-data exports, notification age index

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 04:10:00

"""

from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('bookings', 'parking_events')"
NEW_KINDS = "kind IN ('bookings', 'parking_events', 'personal_data')"


def upgrade():
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("detail", app.platform.models.JSONText(), nullable=True),
        sa.Column("created_at", app.platform.models.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "actor_role IN ('caregiver', 'viewer', 'admin')",
            name=op.f("ck_access_log_actor_role"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_access_log_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["users.id"], name=op.f("fk_access_log_person_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index("ix_access_log_created", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_access_log_person_created", ["person_id", "created_at"], unique=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erased_at", app.platform.models.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_exports_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_exports_kind"), NEW_KINDS)

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_created", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_created")

    op.execute("DELETE FROM exports WHERE kind = 'personal_data'")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_exports_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_exports_kind"), OLD_KINDS)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("erased_at")

    # Dropping the table drops its indexes (MariaDB refuses to drop those a foreign key uses).
    op.drop_table("access_log")
