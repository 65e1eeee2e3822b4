"""Shops and their identity, orders (iGO), display units (iDC), replacement
rules (iGI) and surveys (iQS); tickets of the new kinds and the closed status.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "warranty",
    "paid_repair",
    "handoff",
    "divergence",
    "discount",
    "delivery_damage",
    "delivery_delay",
    "display_request",
    "replacement",
)
STATUSES = ("open", "resolved", "assigned", "pending_assignment", "closed")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_surveys")),
    )
    op.create_table(
        "discount_conditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_of_sale_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=50), nullable=True),
        sa.Column(
            "max_discount_percent", sa.Numeric(precision=5, scale=2), nullable=False
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "max_discount_percent >= 0 AND max_discount_percent <= 100",
            name=op.f("ck_discount_conditions_max_discount"),
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["product_categories.code"],
            name=op.f("fk_discount_conditions_category_code_product_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"],
            ["points_of_sale.id"],
            name=op.f("fk_discount_conditions_point_of_sale_id_points_of_sale"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_conditions")),
        sa.UniqueConstraint(
            "point_of_sale_id",
            "category_code",
            "valid_from",
            name=op.f(
                "uq_discount_conditions_point_of_sale_id_category_code_valid_from"
            ),
        ),
    )
    with op.batch_alter_table("discount_conditions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discount_conditions_point_of_sale_id"),
            ["point_of_sale_id"],
            unique=False,
        )

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("point_of_sale_id", sa.Integer(), nullable=False),
        sa.Column("ordered_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "placed",
                "shipped",
                "in_transit",
                "delivered",
                "cancelled",
                name="order_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("expected_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"],
            ["points_of_sale.id"],
            name=op.f("fk_orders_point_of_sale_id_points_of_sale"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orders_point_of_sale_id"), ["point_of_sale_id"], unique=False
        )

    op.create_table(
        "replacement_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=50), nullable=True),
        sa.Column("market", sa.String(length=2), server_default="ES", nullable=False),
        sa.Column("max_days_since_purchase", sa.Integer(), nullable=True),
        sa.Column("min_previous_repairs", sa.Integer(), nullable=True),
        sa.Column("note_es", sa.Text(), nullable=False),
        sa.Column("note_en", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["product_categories.code"],
            name=op.f("fk_replacement_rules_category_code_product_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replacement_rules")),
    )
    with op.batch_alter_table("replacement_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_replacement_rules_category_code"),
            ["category_code"],
            unique=False,
        )

    op.create_table(
        "shop_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("point_of_sale_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"],
            ["points_of_sale.id"],
            name=op.f("fk_shop_contacts_point_of_sale_id_points_of_sale"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_contacts")),
        sa.UniqueConstraint("phone", name=op.f("uq_shop_contacts_phone")),
    )
    with op.batch_alter_table("shop_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shop_contacts_point_of_sale_id"),
            ["point_of_sale_id"],
            unique=False,
        )

    op.create_table(
        "survey_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_code", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "scale",
                "text",
                name="question_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("text_es", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_code"],
            ["surveys.code"],
            name=op.f("fk_survey_questions_survey_code_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_questions")),
        sa.UniqueConstraint(
            "survey_code",
            "position",
            name=op.f("uq_survey_questions_survey_code_position"),
        ),
    )
    with op.batch_alter_table("survey_questions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_questions_survey_code"), ["survey_code"], unique=False
        )

    op.create_table(
        "display_products",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "max_quantity > 0", name=op.f("ck_display_products_max_quantity")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_display_products_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_display_products")),
    )
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity_ordered", sa.Integer(), nullable=False),
        sa.Column("quantity_delivered", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("discount_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100",
            name=op.f("ck_order_lines_discount"),
        ),
        sa.CheckConstraint(
            "quantity_delivered >= 0", name=op.f("ck_order_lines_quantity_delivered")
        ),
        sa.CheckConstraint(
            "quantity_ordered > 0",
            name=op.f("ck_order_lines_quantity_ordered_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_lines_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_order_lines_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint(
            "order_id", "position", name=op.f("uq_order_lines_order_id_position")
        ),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("shipped_on", sa.Date(), nullable=True),
        sa.Column("expected_on", sa.Date(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "placed",
                "shipped",
                "in_transit",
                "delivered",
                "cancelled",
                name="shipment_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_shipments_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipments_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "display_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("point_of_sale_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "approved",
                "shipped",
                "installed",
                "cancelled",
                name="display_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("installation_date", sa.Date(), nullable=True),
        sa.Column("installer", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"],
            ["points_of_sale.id"],
            name=op.f("fk_display_requests_point_of_sale_id_points_of_sale"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_display_requests_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_display_requests")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_display_requests_ticket_id")),
    )
    with op.batch_alter_table("display_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_display_requests_point_of_sale_id"),
            ["point_of_sale_id"],
            unique=False,
        )

    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("survey_code", sa.String(length=50), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "in_progress",
                "completed",
                "declined",
                "failed",
                name="invitation_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["survey_code"],
            ["surveys.code"],
            name=op.f("fk_survey_invitations_survey_code_surveys"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_survey_invitations_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_survey_invitations_ticket_id")),
    )
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_invitations_conversation_id"),
            ["conversation_id"],
            unique=False,
        )

    op.create_table(
        "display_request_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quantity > 0", name=op.f("ck_display_request_lines_quantity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_display_request_lines_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["display_requests.id"],
            name=op.f("fk_display_request_lines_request_id_display_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_display_request_lines")),
    )
    with op.batch_alter_table("display_request_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_display_request_lines_request_id"),
            ["request_id"],
            unique=False,
        )

    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 1 AND score <= 5)",
            name=op.f("ck_survey_answers_score"),
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.id"],
            name=op.f("fk_survey_answers_invitation_id_survey_invitations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["survey_questions.id"],
            name=op.f("fk_survey_answers_question_id_survey_questions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint(
            "invitation_id",
            "question_id",
            name=op.f("uq_survey_answers_invitation_id_question_id"),
        ),
    )
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_answers_invitation_id"),
            ["invitation_id"],
            unique=False,
        )

    with op.batch_alter_table("channel_contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("point_of_sale_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_channel_contacts_point_of_sale_id"),
            ["point_of_sale_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_channel_contacts_point_of_sale_id_points_of_sale"),
            "points_of_sale",
            ["point_of_sale_id"],
            ["id"],
        )

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("point_of_sale_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "identity_attempts", sa.Integer(), server_default="0", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "identity_attempted_at", sa.DateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_identity_attempted_at"),
            ["identity_attempted_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_point_of_sale_id"),
            ["point_of_sale_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_point_of_sale_id_points_of_sale"),
            "points_of_sale",
            ["point_of_sale_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
        )

    with op.batch_alter_table("points_of_sale", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("registration_code_hash", sa.String(length=64), nullable=True)
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("point_of_sale_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("order_line_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("display_request_id", sa.Integer(), nullable=True)
        )
        batch_op.add_column(sa.Column("carrier", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("quantity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_display_request_id"),
            ["display_request_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_point_of_sale_id"),
            ["point_of_sale_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_point_of_sale_id_points_of_sale"),
            "points_of_sale",
            ["point_of_sale_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_display_request_id_display_requests"),
            "display_requests",
            ["display_request_id"],
            ["id"],
            use_alter=True,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_order_id_orders"), "orders", ["order_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_order_line_id_order_lines"),
            "order_lines",
            ["order_line_id"],
            ["id"],
        )
        batch_op.drop_constraint(batch_op.f("ck_tickets_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_tickets_kind"), _in("kind", KINDS)
        )
        batch_op.drop_constraint(batch_op.f("ck_tickets_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_tickets_status"), _in("status", STATUSES)
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_tickets_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_tickets_kind"), _in("kind", KINDS[:3])
        )
        batch_op.drop_constraint(batch_op.f("ck_tickets_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_tickets_status"), _in("status", STATUSES[:-1])
        )
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_order_line_id_order_lines"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_order_id_orders"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_display_request_id_display_requests"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_point_of_sale_id_points_of_sale"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tickets_point_of_sale_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_order_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_display_request_id"))
        batch_op.drop_column("closed_at")
        batch_op.drop_column("resolution")
        batch_op.drop_column("quantity")
        batch_op.drop_column("carrier")
        batch_op.drop_column("display_request_id")
        batch_op.drop_column("order_line_id")
        batch_op.drop_column("order_id")
        batch_op.drop_column("point_of_sale_id")

    with op.batch_alter_table("points_of_sale", schema=None) as batch_op:
        batch_op.drop_column("registration_code_hash")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_conversations_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_conversations_point_of_sale_id_points_of_sale"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_conversations_point_of_sale_id"))
        batch_op.drop_index(batch_op.f("ix_conversations_customer_id"))
        batch_op.drop_index(batch_op.f("ix_conversations_identity_attempted_at"))
        batch_op.drop_column("identity_attempted_at")
        batch_op.drop_column("identity_attempts")
        batch_op.drop_column("customer_id")
        batch_op.drop_column("point_of_sale_id")

    with op.batch_alter_table("channel_contacts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_channel_contacts_point_of_sale_id_points_of_sale"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_channel_contacts_point_of_sale_id"))
        batch_op.drop_column("point_of_sale_id")

    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_answers_invitation_id"))

    op.drop_table("survey_answers")
    with op.batch_alter_table("display_request_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_display_request_lines_request_id"))

    op.drop_table("display_request_lines")
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_invitations_conversation_id"))

    op.drop_table("survey_invitations")
    with op.batch_alter_table("display_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_display_requests_point_of_sale_id"))

    op.drop_table("display_requests")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_order_id"))

    op.drop_table("shipments")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))

    op.drop_table("order_lines")
    op.drop_table("display_products")
    with op.batch_alter_table("survey_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_questions_survey_code"))

    op.drop_table("survey_questions")
    with op.batch_alter_table("shop_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_contacts_point_of_sale_id"))

    op.drop_table("shop_contacts")
    with op.batch_alter_table("replacement_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replacement_rules_category_code"))

    op.drop_table("replacement_rules")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_point_of_sale_id"))

    op.drop_table("orders")
    with op.batch_alter_table("discount_conditions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discount_conditions_point_of_sale_id"))

    op.drop_table("discount_conditions")
    op.drop_table("surveys")
