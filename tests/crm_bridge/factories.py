"""One small factory per CRM model. Each commits, so the API sees the row.

Defaults build a plausible Spanish record; pass keywords to override.
"""

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from crm_bridge.models import (
    ChannelContact,
    Conversation,
    Customer,
    GuidedCheck,
    Language,
    PointOfSale,
    Product,
    ProductCategory,
    ServiceCentre,
    ServiceCentreArea,
    ServiceCentreCategory,
    Ticket,
    Unit,
    WarrantyTerm,
)
from crm_bridge.schemas import TicketCreate
from crm_bridge.services.normalize import serial_key
from crm_bridge.services.tickets import create_ticket

_sequence = itertools.count(1)


def _save(session: Session, instance: Any) -> Any:
    session.add(instance)
    session.commit()
    return instance


def make_category(
    session: Session, code: str = "washing_machine", **values: Any
) -> ProductCategory:
    values = {"name_es": "Lavadora", "name_en": "Washing machine", **values}
    return _save(session, ProductCategory(code=code, **values))


def make_warranty_term(
    session: Session, category: ProductCategory, **values: Any
) -> WarrantyTerm:
    values = {
        "market": "ES",
        "purchased_from": dt.date(2022, 1, 1),
        "purchased_until": None,
        "months": 36,
        **values,
    }
    return _save(session, WarrantyTerm(category_code=category.code, **values))


def make_product(
    session: Session, category: ProductCategory | None = None, **values: Any
) -> Product:
    category = category or make_category(session)
    n = next(_sequence)
    values = {"sku": f"SKU-{n}", "name": f"Model {n}", "brand": "EcoWash", **values}
    return _save(session, Product(category_code=category.code, **values))


def make_point_of_sale(session: Session, **values: Any) -> PointOfSale:
    n = next(_sequence)
    values = {
        "code": f"PV-{n}",
        "name": f"Tienda {n}",
        "city": "Valencia",
        "postal_code": "46004",
        "phone": "+34963000000",
        **values,
    }
    return _save(session, PointOfSale(**values))


def make_customer(session: Session, **values: Any) -> Customer:
    n = next(_sequence)
    values = {
        "name": f"Cliente {n}",
        "phone": f"+34600{n:06d}",
        "postal_code": "46001",
        "language": Language.ES,
        **values,
    }
    return _save(session, Customer(**values))


def make_service_centre(
    session: Session,
    postal_prefixes: tuple[str, ...] = ("46",),
    categories: tuple[str, ...] = ("washing_machine",),
    **values: Any,
) -> ServiceCentre:
    n = next(_sequence)
    values = {
        "code": f"CAT-{n}",
        "name": f"Servicio Técnico {n}",
        "phone": "+34961000000",
        "email": f"cat{n}@example.es",
        **values,
    }
    centre = ServiceCentre(
        areas=[ServiceCentreArea(postal_prefix=p) for p in postal_prefixes],
        categories=[ServiceCentreCategory(category_code=c) for c in categories],
        **values,
    )
    return _save(session, centre)


def make_unit(session: Session, product: Product | None = None, **values: Any) -> Unit:
    product = product or make_product(session)
    values = {
        "serial_number": f"SN-{next(_sequence):08d}",
        "purchase_date": dt.date(2025, 1, 20),
        **values,
    }
    values.setdefault("serial_key", serial_key(values["serial_number"]))
    return _save(session, Unit(product=product, **values))


def make_guided_check(
    session: Session, category: ProductCategory, **values: Any
) -> GuidedCheck:
    values = {
        "position": 1,
        "language": Language.ES,
        "question": "¿Está obstruido el filtro?",
        "advice": "Limpie el filtro.",
        **values,
    }
    return _save(session, GuidedCheck(category_code=category.code, **values))


def ticket_request(**values: Any) -> dict[str, Any]:
    """A valid body for POST /api/v1/tickets."""
    return {
        "idempotency_key": f"conv-test-{next(_sequence):06d}",
        "kind": "warranty",
        "channel": "web",
        "conversation_id": "conv-test",
        "language": "es",
        "serial_number": None,
        "product_category": "washing_machine",
        "fault_description": "No centrifuga",
        "customer": {
            "name": "Lucía Martín",
            "phone": "+34612345222",
            "postal_code": "46001",
        },
        **values,
    }


def make_ticket(
    session: Session, today: dt.date | None = None, **values: Any
) -> Ticket:
    ticket, _created = create_ticket(
        session, TicketCreate(**ticket_request(**values)), today=today
    )
    return ticket


def make_conversation(
    session: Session,
    channel: str = "sms",
    phone: str | None = None,
    **values: Any,
) -> Conversation:
    """A conversation as the gateway stores it, with its contact when ``phone``."""
    n = next(_sequence)
    contact = None
    if phone is not None:
        contact = _save(
            session, ChannelContact(channel=channel, address=phone, phone=phone)
        )
    values = {
        "id": f"{channel}:{n}",
        "channel": channel,
        "address": phone,
        "contact_id": contact.id if contact else None,
        **values,
    }
    return _save(session, Conversation(**values))
