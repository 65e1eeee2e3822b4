"""When people answer, what they know, and what a waiting person is told.

The policy is data (``crm_bridge/handoff.yml``, or the file HANDOFF_CONFIG
names): opening hours, the team's languages and skills, the average time an
agent spends on a conversation, and the rules that send a case to a person
as soon as it is opened.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from sqlalchemy.orm import object_session

from crm_bridge.models import OrderLine, Ticket, TicketKind, WarrantyStatus

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "handoff.yml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MODULES = ("warranty", "orders", "display", "general")

# Which agents' skill a case of each kind needs.
MODULE_OF_KIND = {
    TicketKind.WARRANTY: "warranty",
    TicketKind.PAID_REPAIR: "warranty",
    TicketKind.REPLACEMENT: "warranty",
    TicketKind.DIVERGENCE: "orders",
    TicketKind.DISCOUNT: "orders",
    TicketKind.DELIVERY_DAMAGE: "orders",
    TicketKind.DELIVERY_DELAY: "orders",
    TicketKind.DISPLAY_REQUEST: "display",
    TicketKind.HANDOFF: "general",
}


class PolicyError(ValueError):
    """The handoff configuration file says something that cannot be used."""


@dataclass(frozen=True)
class Rule:
    """A case that goes to a person as soon as it is opened."""

    name: str
    ticket_kind: TicketKind
    module: str
    min_amount_eur: Decimal | None = None
    warranty_ended_within_days: int | None = None

    def matches(self, ticket: Ticket, today: dt.date) -> bool:
        if ticket.kind is not self.ticket_kind:
            return False
        if (
            self.min_amount_eur is not None
            and case_amount(ticket) < self.min_amount_eur
        ):
            return False
        if self.warranty_ended_within_days is not None:
            ended = ticket.warranty_end_date
            if ticket.warranty_status is not WarrantyStatus.EXPIRED or ended is None:
                return False
            if (today - ended).days > self.warranty_ended_within_days:
                return False
        return True


@dataclass(frozen=True)
class HandoffPolicy:
    timezone: str = "Europe/Madrid"
    # Weekday (0 = Monday) → (opens, closes); a missing day is closed.
    hours: dict[int, tuple[dt.time, dt.time]] = field(default_factory=dict)
    always_open: bool = False
    languages: tuple[str, ...] = ("es", "en")
    skills: tuple[str, ...] = ("warranty", "orders", "display")
    minutes_per_conversation: int = 4
    online_seconds: int = 60
    rules: tuple[Rule, ...] = ()

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(ZoneInfo(self.timezone))

    def is_open(self, moment: dt.datetime) -> bool:
        if self.always_open:
            return True
        local = self.local(moment)
        span = self.hours.get(local.weekday())
        return span is not None and span[0] <= local.time() < span[1]

    def closes_at(self, moment: dt.datetime) -> dt.time | None:
        """When today's opening ends, if open now."""
        if self.always_open or not self.is_open(moment):
            return None
        return self.hours[self.local(moment).weekday()][1]

    def next_opening(self, moment: dt.datetime) -> dt.datetime | None:
        """The local time people are next at work, if ever."""
        if self.always_open:
            return moment
        local = self.local(moment)
        for ahead in range(8):
            day = local.date() + dt.timedelta(days=ahead)
            span = self.hours.get(day.weekday())
            if span is None:
                continue
            opening = dt.datetime.combine(day, span[0], tzinfo=local.tzinfo)
            closing = dt.datetime.combine(day, span[1], tzinfo=local.tzinfo)
            if local < closing:
                return max(opening, local) if ahead == 0 else opening
        return None


def case_amount(ticket: Ticket) -> Decimal:
    """What a case puts at stake: its units times their net price."""
    session = object_session(ticket)
    if session is None or ticket.order_line_id is None or not ticket.quantity:
        return Decimal(0)
    line = session.get(OrderLine, ticket.order_line_id)
    if line is None:
        return Decimal(0)
    net = line.unit_price * (1 - line.discount_percent / Decimal(100))
    return net * ticket.quantity


def _time(value: Any, where: str) -> dt.time:
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError as error:
        raise PolicyError(f"{where}: {value!r} is not a time like 09:00") from error


def load_policy(path: Path | str | None = None) -> HandoffPolicy:
    """Reads the policy file; an unknown day, skill or ticket kind is an error
    that names the key and the value."""
    path = Path(path) if path else DEFAULT_PATH
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    timezone = str(raw.get("timezone") or "Europe/Madrid")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PolicyError(f"timezone: {timezone!r} is not a known time zone") from error
    hours: dict[int, tuple[dt.time, dt.time]] = {}
    opening = raw.get("opening_hours", {})
    always = opening == "always"
    if not always and not isinstance(opening, dict):
        raise PolicyError(
            f"opening_hours: {opening!r} is neither 'always' nor days with hours"
        )
    for day, span in ({} if always else opening).items():
        if day not in DAYS:
            raise PolicyError(f"opening_hours: {day!r} is not one of {DAYS}")
        if not isinstance(span, list) or len(span) != 2:
            raise PolicyError(f"opening_hours.{day}: give [opens, closes]")
        opens, closes = (_time(value, f"opening_hours.{day}") for value in span)
        if closes <= opens:
            raise PolicyError(f"opening_hours.{day}: {closes} is not after {opens}")
        hours[DAYS.index(day)] = (opens, closes)
    rules = []
    for item in raw.get("rules") or []:
        try:
            kind = TicketKind(item["ticket_kind"])
        except (KeyError, ValueError) as error:
            raise PolicyError(
                f"rules: {item.get('ticket_kind')!r} is not a ticket kind"
            ) from error
        module = item.get("module") or MODULE_OF_KIND[kind]
        if module not in MODULES:
            raise PolicyError(f"rules.{item.get('name')}: module {module!r}")
        name = item.get("name")
        amount = item.get("min_amount_eur")
        try:
            amount = Decimal(str(amount)) if amount is not None else None
        except ArithmeticError as error:
            raise PolicyError(
                f"rules.{name}.min_amount_eur: {amount!r} is not an amount"
            ) from error
        days = item.get("warranty_ended_within_days")
        if days is not None and (not isinstance(days, int) or days < 0):
            raise PolicyError(
                f"rules.{name}.warranty_ended_within_days: {days!r} is not a "
                "number of days"
            )
        rules.append(
            Rule(
                name=str(item.get("name") or kind.value),
                ticket_kind=kind,
                module=module,
                min_amount_eur=amount,
                warranty_ended_within_days=days,
            )
        )
    languages = tuple(raw.get("languages") or ("es", "en"))
    for language in languages:
        if language not in ("es", "en"):
            raise PolicyError(f"languages: {language!r} is not one of ('es', 'en')")
    skills = tuple(raw.get("skills") or ("warranty", "orders", "display"))
    for skill in skills:
        if skill not in MODULES:
            raise PolicyError(f"skills: {skill!r} is not one of {MODULES}")
    return HandoffPolicy(
        timezone=timezone,
        hours=hours,
        always_open=always,
        languages=languages,
        skills=skills,
        minutes_per_conversation=int(raw.get("minutes_per_conversation") or 4),
        online_seconds=int(raw.get("online_seconds") or 60),
        rules=tuple(rules),
    )


# -- what the person is told ----------------------------------------------------

_WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": (
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ),
}

_TEXTS = {
    "next": {
        "es": "Le paso con una persona del equipo. Es el siguiente en la cola; "
        "le atenderán en unos {minutes} minutos por este mismo canal.",
        "en": "I'm passing you to a person from our team. You're next in the "
        "queue; someone will be with you here in about {minutes} minutes.",
    },
    "one_ahead": {
        "es": "Le paso con una persona del equipo. Hay una conversación antes "
        "que la suya; le atenderán en unos {minutes} minutos por este mismo "
        "canal.",
        "en": "I'm passing you to a person from our team. There is one "
        "conversation ahead of yours; someone will be with you here in about "
        "{minutes} minutes.",
    },
    "queue": {
        "es": "Le paso con una persona del equipo. Hay {ahead} conversaciones "
        "antes que la suya; le atenderán en unos {minutes} minutos por este "
        "mismo canal.",
        "en": "I'm passing you to a person from our team. There are {ahead} "
        "conversations ahead of yours; someone will be with you here in about "
        "{minutes} minutes.",
    },
    "nobody_online": {
        "es": "Ahora mismo no hay nadie del equipo conectado. Su caso {ticket} "
        "queda abierto y le escribiremos por aquí en cuanto una persona se "
        "conecte, hoy antes de las {closes}.",
        "en": "Nobody from our team is online right now. Your case {ticket} "
        "stays open and we'll write to you here as soon as someone is, today "
        "before {closes}.",
    },
    "closed": {
        "es": "Ahora estamos fuera de horario. Su caso {ticket} queda abierto y "
        "una persona del equipo le contactará por este mismo canal {when}.",
        "en": "We're outside opening hours now. Your case {ticket} stays open "
        "and a person from our team will contact you on this same channel "
        "{when}.",
    },
}


_CALL_BACK = {
    "soon": {
        "es": "Una persona del equipo le llamará a este número en unos {minutes} "
        "minutos. Su caso es el {ticket}.",
        "en": "Someone from our team will call you back on this number in about "
        "{minutes} minutes. Your case is {ticket}.",
    },
    "nobody_online": {
        "es": "Ahora mismo no hay nadie del equipo disponible. Su caso es el "
        "{ticket}, y le llamaremos a este número en cuanto sea posible.",
        "en": "Nobody from our team is free right now. Your case is {ticket}, "
        "and we'll call you back on this number as soon as we can.",
    },
    "closed": {
        "es": "Ahora estamos fuera de horario. Su caso es el {ticket}, y una "
        "persona del equipo le llamará a este número {when}.",
        "en": "We're outside opening hours now. Your case is {ticket}, and "
        "someone from our team will call you back on this number {when}.",
    },
}


def _call_back(
    policy: HandoffPolicy,
    language: str,
    ticket_number: str,
    ahead: int,
    agents_online: int,
    now: dt.datetime,
) -> str:
    if not policy.is_open(now):
        when = _when(policy.next_opening(now), policy.local(now), language)
        return _CALL_BACK["closed"][language].format(ticket=ticket_number, when=when)
    if agents_online == 0:
        return _CALL_BACK["nobody_online"][language].format(ticket=ticket_number)
    minutes = max(1, (ahead // agents_online + 1) * policy.minutes_per_conversation)
    return _CALL_BACK["soon"][language].format(ticket=ticket_number, minutes=minutes)


def _when(opening: dt.datetime | None, now_local: dt.datetime, language: str) -> str:
    if opening is None:
        return "lo antes posible" if language == "es" else "as soon as possible"
    hour = (
        f"{opening.hour}:{opening.minute:02d}"
        if language == "es"
        else opening.strftime("%H:%M")
    )
    days = (opening.date() - now_local.date()).days
    if language == "es":
        if days == 0:
            return f"hoy a partir de las {hour}"
        if days == 1:
            return f"mañana a partir de las {hour}"
        return f"el {_WEEKDAYS['es'][opening.weekday()]} a partir de las {hour}"
    if days == 0:
        return f"today from {hour}"
    if days == 1:
        return f"tomorrow from {hour}"
    return f"on {_WEEKDAYS['en'][opening.weekday()]} from {hour}"


def announcement(
    policy: HandoffPolicy,
    language: str | None,
    ticket_number: str,
    ahead: int,
    agents_online: int,
    now: dt.datetime,
    by_phone: bool = False,
) -> str:
    """What a person is told when their conversation goes to the queue.

    Args:
        ahead: conversations waiting before this one for the same agents.
        agents_online: agents online who could take it.
        by_phone: a caller, who is called back (when the call is not put
            through to the agents' line).
    """
    language = language if language in ("es", "en") else "es"
    if by_phone:
        return _call_back(policy, language, ticket_number, ahead, agents_online, now)
    if not policy.is_open(now):
        local = policy.local(now)
        when = _when(policy.next_opening(now), local, language)
        return _TEXTS["closed"][language].format(ticket=ticket_number, when=when)
    if agents_online == 0:
        closes = policy.closes_at(now)
        text = _TEXTS["nobody_online"][language]
        if closes is None:
            text = text.split(", hoy antes")[0].split(", today before")[0] + "."
        return text.format(
            ticket=ticket_number, closes=closes.strftime("%H:%M") if closes else ""
        )
    rounds = ahead // agents_online + 1
    minutes = max(1, rounds * policy.minutes_per_conversation)
    key = {0: "next", 1: "one_ahead"}.get(ahead, "queue")
    return _TEXTS[key][language].format(ahead=ahead, minutes=minutes)
