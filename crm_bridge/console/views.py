"""What the console shows: queue rows and a conversation with its context.

Read-only; every function takes a session and returns plain dictionaries in
the shape of the console's API.
"""

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm_bridge.core.db import as_stored, as_utc
from crm_bridge.models import (
    Agent,
    Attachment,
    ChannelContact,
    Conversation,
    ConversationMessage,
    ConversationNote,
    Customer,
    Handoff,
    Order,
    PointOfSale,
    Ticket,
    Unit,
)
from crm_bridge.services import handoffs
from crm_bridge.services.warranty import decide_unit_warranty

# The slots of the dialogue an agent sees and may set before handing back:
# what a case is made of. The dialogue's own bookkeeping (attempt counters,
# survey positions) and secrets (a registration code) are not among them.
CASE_SLOTS = (
    "language",
    "serial_number",
    "product_category",
    "fault_description",
    "customer_name",
    "phone_number",
    "postal_code",
    "warranty_status",
    "warranty_end_date",
    "order_number",
    "order_quantity",
    "divergence_problem",
    "delivery_problem",
    "delivery_description",
    "display_product",
    "display_quantity",
    "display_number",
    "repair_number",
)
ATTACHMENT_URL = "/console/api/attachments/{}"


def iso(moment: dt.datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def who(session: Session, conversation: Conversation) -> str:
    """The name the queue shows: the shop, the customer, or the contact."""
    contact = conversation.contact
    shop_id = conversation.point_of_sale_id or (
        contact.point_of_sale_id if contact else None
    )
    if shop_id is not None:
        shop = session.get(PointOfSale, shop_id)
        if shop is not None:
            return f"{shop.name} ({shop.code})"
    customer_id = conversation.customer_id or (contact.customer_id if contact else None)
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is not None:
            return customer.name
    if contact is not None and contact.display_name:
        return contact.display_name
    if contact is not None and contact.phone:
        return contact.phone
    return "web visitor" if conversation.channel == "web" else conversation.channel


def _agent_ref(handoff: Handoff) -> dict[str, Any] | None:
    agent = handoff.agent
    return {"id": agent.id, "display_name": agent.display_name} if agent else None


def handoff_item(
    session: Session, handoff: Handoff, now: dt.datetime
) -> dict[str, Any]:
    conversation = session.get_one(Conversation, handoff.conversation_id)
    # Unanswered: what the person wrote since the agent last wrote.
    answered_up_to = session.scalar(
        select(func.max(ConversationMessage.id)).where(
            ConversationMessage.conversation_id == handoff.conversation_id,
            ConversationMessage.agent_id.is_not(None),
        )
    )
    waiting = session.scalar(
        select(func.count(ConversationMessage.id)).where(
            ConversationMessage.conversation_id == handoff.conversation_id,
            ConversationMessage.direction == "in",
            ConversationMessage.status == "with_agent",
            ConversationMessage.id > (answered_up_to or 0),
        )
    )
    requested = as_utc(handoff.requested_at)
    return {
        "handoff_id": handoff.id,
        "conversation_id": handoff.conversation_id,
        "channel": conversation.channel,
        "language": handoff.language,
        "module": handoff.module,
        "reason": handoff.reason,
        "rule": handoff.rule,
        "status": handoff.status.value,
        "agent": _agent_ref(handoff),
        "requested_at": iso(handoff.requested_at),
        "claimed_at": iso(handoff.claimed_at),
        "waiting_seconds": max(0, int((now - requested).total_seconds())),
        "who": who(session, conversation),
        "ticket_number": handoff.ticket.number if handoff.ticket else None,
        "messages_waiting": int(waiting or 0),
    }


def _messages(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation_id)
        .order_by(ConversationMessage.id)
    ).all()
    agent_names = dict(
        session.execute(
            select(Agent.id, Agent.display_name).where(
                Agent.id.in_({row.agent_id for row in rows if row.agent_id})
            )
        ).all()
    )
    files: dict[int, list[dict[str, Any]]] = {}
    for attachment in session.scalars(
        select(Attachment)
        .where(Attachment.conversation_id == conversation_id)
        .order_by(Attachment.id)
    ):
        if attachment.message_id is None:
            continue
        files.setdefault(attachment.message_id, []).append(
            {
                "id": attachment.id,
                "content_type": attachment.content_type,
                "filename": attachment.filename,
                "size": attachment.size,
                "url": ATTACHMENT_URL.format(attachment.id)
                if attachment.sha256
                else None,
            }
        )
    messages = []
    for row in rows:
        if row.direction == "in":
            author = "customer"
        elif row.agent_id is not None:
            author = "agent"
        elif row.reply_to_id is not None:
            author = "bot"
        else:
            author = "system"
        messages.append(
            {
                "id": row.id,
                "direction": row.direction,
                "author": author,
                "agent_name": agent_names.get(row.agent_id),
                "text": row.text,
                "kind": row.kind,
                "status": row.status,
                "created_at": iso(row.created_at),
                "attachments": files.get(row.id, []),
            }
        )
    return messages


def _tickets(session: Session, *conditions: Any) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Ticket).where(or_(*conditions)).order_by(Ticket.id.desc()).limit(20)
    )
    return [
        {
            "number": ticket.number,
            "kind": ticket.kind.value,
            "status": ticket.status.value,
            "created_at": iso(ticket.created_at),
        }
        for ticket in rows
    ]


def party(session: Session, conversation: Conversation) -> dict[str, Any]:
    """The customer or shop behind the conversation, with their records."""
    contact: ChannelContact | None = conversation.contact
    shop_id = conversation.point_of_sale_id or (
        contact.point_of_sale_id if contact else None
    )
    own_tickets = Ticket.conversation_id == conversation.id
    if shop_id is not None:
        shop = session.get_one(PointOfSale, shop_id)
        orders = session.scalars(
            select(Order)
            .where(Order.point_of_sale_id == shop.id)
            .order_by(Order.ordered_on.desc())
            .limit(20)
        )
        return {
            "kind": "shop",
            "name": f"{shop.name} ({shop.code})",
            "phone": contact.phone if contact and contact.phone else shop.phone,
            "email": None,
            "units": [],
            "orders": [
                {
                    "number": order.number,
                    "status": order.status.value,
                    "ordered_on": order.ordered_on.isoformat(),
                }
                for order in orders
            ],
            "tickets": _tickets(
                session, own_tickets, Ticket.point_of_sale_id == shop.id
            ),
        }
    customer_id = conversation.customer_id or (contact.customer_id if contact else None)
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is not None:
        units = session.scalars(
            select(Unit).where(Unit.customer_id == customer.id).order_by(Unit.id)
        )
        today = dt.date.today()
        return {
            "kind": "customer",
            "name": customer.name,
            "phone": customer.phone,
            "email": customer.email,
            "units": [
                {
                    "serial_number": unit.serial_number,
                    "product": unit.product.name,
                    "purchase_date": iso_date(unit.purchase_date),
                    "warranty_status": decide_unit_warranty(
                        session, unit, today
                    ).status.value,
                }
                for unit in units
            ],
            "orders": [],
            "tickets": _tickets(
                session, own_tickets, Ticket.customer_id == customer.id
            ),
        }
    return {
        "kind": "unknown",
        "name": who(session, conversation),
        "phone": contact.phone if contact else None,
        "email": None,
        "units": [],
        "orders": [],
        "tickets": _tickets(session, own_tickets),
    }


def iso_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def handoff_summary(handoff: Handoff | None) -> dict[str, Any] | None:
    if handoff is None:
        return None
    return {
        "handoff_id": handoff.id,
        "status": handoff.status.value,
        "module": handoff.module,
        "reason": handoff.reason,
        "rule": handoff.rule,
        "agent": _agent_ref(handoff),
        "requested_at": iso(handoff.requested_at),
        "claimed_at": iso(handoff.claimed_at),
        "ticket_number": handoff.ticket.number if handoff.ticket else None,
    }


def conversation_view(
    session: Session, conversation: Conversation, viewer: Agent
) -> dict[str, Any]:
    """Everything the console shows of one conversation, but the case slots
    (they live in the dialogue engine)."""
    handoff = handoffs.current(session, conversation.id) or session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation.id)
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    notes = session.scalars(
        select(ConversationNote)
        .where(ConversationNote.conversation_id == conversation.id)
        .order_by(ConversationNote.id)
    )
    return {
        "conversation": {
            "id": conversation.id,
            "channel": conversation.channel,
            "language": conversation.language,
            "created_at": iso(conversation.created_at),
        },
        "handoff": handoff_summary(handoff),
        "mine": bool(
            handoff is not None
            and handoff.open_key is not None
            and handoff.agent_id == viewer.id
        ),
        "messages": _messages(session, conversation.id),
        "notes": [
            {
                "id": note.id,
                "author": note.agent.display_name,
                "text": note.text,
                "created_at": iso(note.created_at),
            }
            for note in notes
        ],
        "party": party(session, conversation),
        "case": None,
    }


def recent_bot_conversations(session: Session, now: dt.datetime) -> list[dict]:
    """Conversations of the last day the assistant still holds."""
    since = as_stored(session, now - dt.timedelta(days=1))
    last = (
        select(
            ConversationMessage.conversation_id,
            func.max(ConversationMessage.created_at).label("last_at"),
        )
        .group_by(ConversationMessage.conversation_id)
        .subquery()
    )
    rows = session.execute(
        select(Conversation, last.c.last_at)
        .join(last, last.c.conversation_id == Conversation.id)
        .where(last.c.last_at >= since)
        .order_by(last.c.last_at.desc())
        .limit(50)
    ).all()
    return [
        {
            "conversation_id": conversation.id,
            "channel": conversation.channel,
            "language": conversation.language,
            "last_message_at": iso(last_at),
            "who": who(session, conversation),
        }
        for conversation, last_at in rows
        if not handoffs.is_with_a_person(session, conversation.id)
    ]
