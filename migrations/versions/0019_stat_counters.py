"""stat counters: the dashboard's totals kept by triggers, so reading them costs the same at
any size

``stat_counters`` holds shard rows per figure (users, active users, lots, spots, occupied
spots, active bookings) and the paid revenue per 15-minute slot. The triggers on ``users``,
``lots``, ``spots``, ``bookings`` and ``payments`` move them in the writing transaction; the
counters are filled from the tables here, before the triggers exist. The trigger text is
``app.platform.rollups`` at this revision: a change to it comes with a migration of its own.

On MariaDB with binary logging, creating triggers needs the ``TRIGGER`` privilege and, for a
user without ``SUPER``, ``log_bin_trust_function_creators=1``.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 10:10:00

"""

import sqlalchemy as sa
from alembic import op

from app.platform import rollups

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stat_counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("shard", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "slot", "shard", name=op.f("pk_stat_counters")),
    )
    bind = op.get_bind()
    rollups.recount(bind)
    for statement in rollups.create_triggers(bind.dialect.name):
        bind.execute(sa.text(statement))


def downgrade():
    bind = op.get_bind()
    for statement in rollups.drop_triggers(bind.dialect.name):
        bind.execute(sa.text(statement))
    op.drop_table("stat_counters")
