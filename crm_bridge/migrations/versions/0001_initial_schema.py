"""Initial schema: catalogue, customers, service centres, units, tickets.

Revision ID: 0001
Revises:
Create Date: 2026-12-04 15:25:32.277908
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("postal_code", sa.String(length=5), nullable=False),
        sa.Column(
            "language",
            sa.Enum(
                "es",
                "en",
                name="language",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("phone", name=op.f("uq_customers_phone")),
    )
    op.create_table(
        "points_of_sale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=5), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_of_sale")),
        sa.UniqueConstraint("code", name=op.f("uq_points_of_sale_code")),
    )
    op.create_table(
        "product_categories",
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name_es", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_product_categories")),
    )
    op.create_table(
        "service_centres",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_centres")),
        sa.UniqueConstraint("code", name=op.f("uq_service_centres_code")),
    )
    op.create_table(
        "ticket_number_counters",
        sa.Column("prefix", sa.String(length=3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "prefix", "year", name=op.f("pk_ticket_number_counters")
        ),
    )
    op.create_table(
        "guided_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "language",
            sa.Enum(
                "es",
                "en",
                name="language",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["product_categories.code"],
            name=op.f("fk_guided_checks_category_code_product_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guided_checks")),
        sa.UniqueConstraint(
            "category_code",
            "language",
            "position",
            name=op.f("uq_guided_checks_category_code_language_position"),
        ),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("brand", sa.String(length=100), nullable=False),
        sa.Column("category_code", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["product_categories.code"],
            name=op.f("fk_products_category_code_product_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("sku", name=op.f("uq_products_sku")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_products_category_code"), ["category_code"], unique=False
        )

    op.create_table(
        "service_centre_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_centre_id", sa.Integer(), nullable=False),
        sa.Column("postal_prefix", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_centre_id"],
            ["service_centres.id"],
            name=op.f("fk_service_centre_areas_service_centre_id_service_centres"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_centre_areas")),
        sa.UniqueConstraint(
            "service_centre_id",
            "postal_prefix",
            name=op.f("uq_service_centre_areas_service_centre_id_postal_prefix"),
        ),
    )
    with op.batch_alter_table("service_centre_areas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_centre_areas_postal_prefix"),
            ["postal_prefix"],
            unique=False,
        )

    op.create_table(
        "service_centre_categories",
        sa.Column("service_centre_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["product_categories.code"],
            name=op.f("fk_service_centre_categories_category_code_product_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["service_centre_id"],
            ["service_centres.id"],
            name=op.f("fk_service_centre_categories_service_centre_id_service_centres"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "service_centre_id",
            "category_code",
            name=op.f("pk_service_centre_categories"),
        ),
    )
    op.create_table(
        "warranty_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=50), nullable=False),
        sa.Column("market", sa.String(length=2), nullable=False),
        sa.Column("purchased_from", sa.Date(), nullable=False),
        sa.Column("purchased_until", sa.Date(), nullable=True),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "months > 0", name=op.f("ck_warranty_terms_months_positive")
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["product_categories.code"],
            name=op.f("fk_warranty_terms_category_code_product_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_terms")),
        sa.UniqueConstraint(
            "category_code",
            "market",
            "purchased_from",
            name=op.f("uq_warranty_terms_category_code_market_purchased_from"),
        ),
    )
    with op.batch_alter_table("warranty_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warranty_terms_category_code"),
            ["category_code"],
            unique=False,
        )

    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial_number", sa.String(length=100), nullable=False),
        sa.Column("serial_key", sa.String(length=100), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("purchase_date", sa.Date(), nullable=True),
        sa.Column("market", sa.String(length=2), server_default="ES", nullable=False),
        sa.Column("point_of_sale_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_units_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"],
            ["points_of_sale.id"],
            name=op.f("fk_units_point_of_sale_id_points_of_sale"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_units_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("serial_key", name=op.f("uq_units_serial_key")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_units_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_units_point_of_sale_id"), ["point_of_sale_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_units_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "warranty",
                "paid_repair",
                "handoff",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "resolved",
                "assigned",
                "pending_assignment",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("resolved_first_contact", sa.Boolean(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "web",
                "sms",
                "voice",
                "telegram",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column(
            "language",
            sa.Enum(
                "es",
                "en",
                name="language",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("product_category_code", sa.String(length=50), nullable=True),
        sa.Column("fault_description", sa.Text(), nullable=True),
        sa.Column(
            "warranty_status",
            sa.Enum(
                "valid",
                "expired",
                "unknown",
                name="warranty_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("warranty_end_date", sa.Date(), nullable=True),
        sa.Column("service_centre_id", sa.Integer(), nullable=True),
        sa.Column("verification_due", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_tickets_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["product_category_code"],
            ["product_categories.code"],
            name=op.f("fk_tickets_product_category_code_product_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["service_centre_id"],
            ["service_centres.id"],
            name=op.f("fk_tickets_service_centre_id_service_centres"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_tickets_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_tickets_idempotency_key")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tickets_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_service_centre_id"),
            ["service_centre_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_unit_id"), ["unit_id"], unique=False
        )

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=50), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_unit_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_service_centre_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_customer_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_conversation_id"))

    op.drop_table("tickets")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_product_id"))
        batch_op.drop_index(batch_op.f("ix_units_point_of_sale_id"))
        batch_op.drop_index(batch_op.f("ix_units_customer_id"))

    op.drop_table("units")
    with op.batch_alter_table("warranty_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warranty_terms_category_code"))

    op.drop_table("warranty_terms")
    op.drop_table("service_centre_categories")
    with op.batch_alter_table("service_centre_areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_centre_areas_postal_prefix"))

    op.drop_table("service_centre_areas")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_category_code"))

    op.drop_table("products")
    op.drop_table("guided_checks")
    op.drop_table("ticket_number_counters")
    op.drop_table("service_centres")
    op.drop_table("product_categories")
    op.drop_table("points_of_sale")
    op.drop_table("customers")
