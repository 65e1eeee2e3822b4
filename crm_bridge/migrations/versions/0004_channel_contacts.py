"""Channel contacts, conversation addresses, message kinds and attachments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "channel_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_channel_contacts_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_contacts")),
        sa.UniqueConstraint(
            "channel", "address", name=op.f("uq_channel_contacts_channel_address")
        ),
    )
    op.create_index(
        op.f("ix_channel_contacts_phone"), "channel_contacts", ["phone"], unique=False
    )
    op.create_index(
        op.f("ix_channel_contacts_customer_id"),
        "channel_contacts",
        ["customer_id"],
        unique=False,
    )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("address", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=2), nullable=True))
        batch.add_column(
            sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_index(
            batch.f("ix_conversations_contact_id"), ["contact_id"], unique=False
        )
        batch.create_foreign_key(
            batch.f("fk_conversations_contact_id_channel_contacts"),
            "channel_contacts",
            ["contact_id"],
            ["id"],
        )
    with op.batch_alter_table("conversation_messages") as batch:
        batch.add_column(
            sa.Column(
                "kind", sa.String(length=20), server_default="text", nullable=False
            )
        )
        batch.add_column(
            sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_attachments_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["conversation_messages.id"],
            name=op.f("fk_attachments_message_id_conversation_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_attachments_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    for column in ("conversation_id", "message_id", "ticket_id"):
        op.create_index(
            op.f(f"ix_attachments_{column}"), "attachments", [column], unique=False
        )


def downgrade() -> None:
    op.drop_table("attachments")
    with op.batch_alter_table("conversation_messages") as batch:
        batch.drop_column("attempts")
        batch.drop_column("kind")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint(
            batch.f("fk_conversations_contact_id_channel_contacts"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_conversations_contact_id"))
        batch.drop_column("closed_at")
        batch.drop_column("language")
        batch.drop_column("contact_id")
        batch.drop_column("address")
    op.drop_index(
        op.f("ix_channel_contacts_customer_id"), table_name="channel_contacts"
    )
    op.drop_index(op.f("ix_channel_contacts_phone"), table_name="channel_contacts")
    op.drop_table("channel_contacts")
