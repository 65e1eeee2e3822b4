"""The handoff policy: opening hours, what a waiting person is told, the rules
that send a case to a person, and the checks on the policy file."""

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from crm_bridge.models import (
    Order,
    OrderLine,
    OrderStatus,
    Ticket,
    TicketKind,
    TicketStatus,
    WarrantyStatus,
)
from crm_bridge.services.handoff_policy import (
    DEFAULT_PATH,
    HandoffPolicy,
    PolicyError,
    Rule,
    announcement,
    case_amount,
    load_policy,
)
from tests.crm_bridge.factories import make_point_of_sale, make_product

MADRID = ZoneInfo("Europe/Madrid")
_numbers = itertools.count(1)


def madrid(*args: int) -> dt.datetime:
    """A moment given in Madrid's wall time, as the gateway passes it (UTC)."""
    return dt.datetime(*args, tzinfo=MADRID).astimezone(dt.UTC)


@pytest.fixture(scope="module")
def shipped() -> HandoffPolicy:
    return load_policy()


# -- the shipped file ------------------------------------------------------------------


def test_the_shipped_policy_loads_with_its_hours_and_rules(shipped: HandoffPolicy):
    assert load_policy(DEFAULT_PATH) == shipped
    assert shipped.timezone == "Europe/Madrid"
    assert not shipped.always_open
    assert shipped.hours == {
        **{day: (dt.time(9), dt.time(19)) for day in range(5)},
        5: (dt.time(10), dt.time(14)),
    }
    assert shipped.languages == ("es", "en")
    assert shipped.skills == ("warranty", "orders", "display")
    assert (shipped.minutes_per_conversation, shipped.online_seconds) == (4, 60)
    assert [
        (r.name, r.ticket_kind, r.module, r.min_amount_eur) for r in shipped.rules
    ] == [
        ("large_divergence", TicketKind.DIVERGENCE, "orders", Decimal(1500)),
        ("recently_expired_warranty", TicketKind.PAID_REPAIR, "warranty", None),
    ]
    assert shipped.rules[1].warranty_ended_within_days == 90


def test_always_means_always_open(tmp_path: Path):
    path = tmp_path / "handoff.yml"
    path.write_text("opening_hours: always\n", encoding="utf-8")

    policy = load_policy(path)

    assert policy.always_open
    sunday_night = madrid(2026, 3, 29, 3, 30)
    assert policy.is_open(sunday_night)
    assert policy.next_opening(sunday_night) == sunday_night
    assert policy.closes_at(sunday_night) is None


# -- opening hours ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (madrid(2026, 1, 12, 8, 59), False),  # Monday, a minute before
        (madrid(2026, 1, 12, 9, 0), True),
        (madrid(2026, 1, 12, 18, 59), True),
        (madrid(2026, 1, 12, 19, 0), False),  # closing time is closed
        (madrid(2026, 3, 28, 10, 30), True),  # Saturday morning
        (madrid(2026, 3, 28, 14, 0), False),  # Saturday afternoon
        (madrid(2026, 3, 29, 12, 0), False),  # Sunday
    ],
    ids=[
        "mon-0859",
        "mon-0900",
        "mon-1859",
        "mon-1900",
        "sat-1030",
        "sat-1400",
        "sun-1200",
    ],
)
def test_open_within_the_hours_of_the_day(
    shipped: HandoffPolicy, moment: dt.datetime, is_open: bool
):
    assert shipped.is_open(moment) is is_open


def test_hours_are_madrid_wall_time_on_both_sides_of_the_summer_change(
    shipped: HandoffPolicy,
):
    # Friday before the change (UTC+1): 09:00 in Madrid is 08:00 UTC.
    friday = dt.datetime(2026, 3, 27, 8, 0, tzinfo=dt.UTC)
    # Monday after it (UTC+2): 09:00 in Madrid is 07:00 UTC.
    monday = dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)

    assert shipped.is_open(friday)
    assert not shipped.is_open(friday - dt.timedelta(minutes=1))
    assert shipped.is_open(monday)
    assert not shipped.is_open(monday - dt.timedelta(minutes=1))
    # Saturday before the change, closed at 14:00: next opening is Monday
    # 09:00 summer time, 07:00 UTC, not 08:00.
    opening = shipped.next_opening(madrid(2026, 3, 28, 15, 0))
    assert opening is not None
    assert opening.astimezone(dt.UTC) == monday
    # And back in October (UTC+1 again from Sunday 25th).
    autumn = shipped.next_opening(madrid(2026, 10, 24, 15, 0))
    assert autumn is not None
    assert autumn.astimezone(dt.UTC) == dt.datetime(2026, 10, 26, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (madrid(2026, 1, 12, 7, 15), dt.datetime(2026, 1, 12, 9, 0)),  # today
        (madrid(2026, 1, 12, 11, 0), dt.datetime(2026, 1, 12, 11, 0)),  # open now
        (madrid(2026, 1, 12, 19, 30), dt.datetime(2026, 1, 13, 9, 0)),  # tomorrow
        (madrid(2026, 3, 27, 20, 0), dt.datetime(2026, 3, 28, 10, 0)),  # Saturday
        (madrid(2026, 3, 28, 14, 30), dt.datetime(2026, 3, 30, 9, 0)),  # Monday
        (madrid(2026, 3, 29, 23, 59), dt.datetime(2026, 3, 30, 9, 0)),  # Sunday
    ],
    ids=["before", "open", "after-closing", "friday-night", "saturday", "sunday"],
)
def test_next_opening(
    shipped: HandoffPolicy, moment: dt.datetime, expected: dt.datetime
):
    opening = shipped.next_opening(moment)

    assert opening is not None
    assert opening.replace(tzinfo=None) == expected
    assert opening.tzinfo is not None
    assert opening.utcoffset() == expected.replace(tzinfo=MADRID).utcoffset()


def test_no_opening_at_all_means_never():
    policy = HandoffPolicy()
    monday = madrid(2026, 1, 12, 11, 0)

    assert not policy.is_open(monday)
    assert policy.next_opening(monday) is None
    assert announcement(policy, "es", "GEN-4", 0, 0, monday).endswith(
        "le contactará por este mismo canal lo antes posible."
    )
    assert announcement(policy, "en", "GEN-4", 0, 0, monday).endswith(
        "will contact you on this same channel as soon as possible."
    )


# -- what the person is told -----------------------------------------------------------

CLOSED_TEXTS = {
    "es": "Ahora estamos fuera de horario. Su caso GEN-2026-000007 queda abierto "
    "y una persona del equipo le contactará por este mismo canal {}.",
    "en": "We're outside opening hours now. Your case GEN-2026-000007 stays open "
    "and a person from our team will contact you on this same channel {}.",
}


@pytest.mark.parametrize(
    ("moment", "language", "when"),
    [
        (madrid(2026, 1, 12, 7, 15), "es", "hoy a partir de las 9:00"),
        (madrid(2026, 1, 12, 7, 15), "en", "today from 09:00"),
        (madrid(2026, 3, 27, 20, 0), "es", "mañana a partir de las 10:00"),
        (madrid(2026, 3, 27, 20, 0), "en", "tomorrow from 10:00"),
        (madrid(2026, 3, 28, 14, 30), "es", "el lunes a partir de las 9:00"),
        (madrid(2026, 3, 28, 14, 30), "en", "on Monday from 09:00"),
    ],
    ids=[
        "today-es",
        "today-en",
        "tomorrow-es",
        "tomorrow-en",
        "monday-es",
        "monday-en",
    ],
)
def test_out_of_hours_the_person_is_told_when_someone_will_write(
    shipped: HandoffPolicy, moment: dt.datetime, language: str, when: str
):
    # Agents online do not matter when the team is not at work.
    text = announcement(shipped, language, "GEN-2026-000007", 2, 3, moment)

    assert text == CLOSED_TEXTS[language].format(when)


def test_an_opening_at_midnight_is_said_as_an_hour():
    policy = HandoffPolicy(hours={6: (dt.time(0, 0), dt.time(0, 1))})
    saturday = madrid(2026, 3, 28, 12, 0)

    text = announcement(policy, "es", "GEN-2026-000007", 0, 0, saturday)

    assert text == CLOSED_TEXTS["es"].format("mañana a partir de las 0:00")


def test_with_nobody_online_the_person_gets_their_case_and_todays_closing(
    shipped: HandoffPolicy,
):
    monday = madrid(2026, 1, 12, 11, 0)

    assert announcement(shipped, "es", "GEN-2026-000002", 0, 0, monday) == (
        "Ahora mismo no hay nadie del equipo conectado. Su caso GEN-2026-000002 "
        "queda abierto y le escribiremos por aquí en cuanto una persona se "
        "conecte, hoy antes de las 19:00."
    )
    assert announcement(shipped, "en", "GEN-2026-000002", 0, 0, monday) == (
        "Nobody from our team is online right now. Your case GEN-2026-000002 "
        "stays open and we'll write to you here as soon as someone is, today "
        "before 19:00."
    )


def test_with_nobody_online_and_no_closing_time_no_hour_is_promised():
    policy = HandoffPolicy(always_open=True)
    now = madrid(2026, 1, 12, 3, 0)

    assert announcement(policy, "es", "GEN-2026-000003", 0, 0, now) == (
        "Ahora mismo no hay nadie del equipo conectado. Su caso GEN-2026-000003 "
        "queda abierto y le escribiremos por aquí en cuanto una persona se "
        "conecte."
    )
    assert announcement(policy, "en", "GEN-2026-000003", 0, 0, now) == (
        "Nobody from our team is online right now. Your case GEN-2026-000003 "
        "stays open and we'll write to you here as soon as someone is."
    )


def test_first_in_the_queue_is_told_the_minutes_of_one_conversation(
    shipped: HandoffPolicy,
):
    monday = madrid(2026, 1, 12, 11, 0)

    assert announcement(shipped, "es", "GEN-1", 0, 1, monday) == (
        "Le paso con una persona del equipo. Es el siguiente en la cola; le "
        "atenderán en unos 4 minutos por este mismo canal."
    )
    assert announcement(shipped, "en", "GEN-1", 0, 1, monday) == (
        "I'm passing you to a person from our team. You're next in the queue; "
        "someone will be with you here in about 4 minutes."
    )


@pytest.mark.parametrize(
    ("ahead", "online", "minutes"),
    [(3, 2, 8), (4, 2, 12), (5, 5, 8), (2, 3, 4)],
    ids=["3-2", "4-2", "5-5", "2-3"],
)
def test_later_in_the_queue_the_wait_counts_the_rounds_of_the_agents_online(
    shipped: HandoffPolicy, ahead: int, online: int, minutes: int
):
    monday = madrid(2026, 1, 12, 11, 0)

    spanish = announcement(shipped, "es", "GEN-1", ahead, online, monday)
    english = announcement(shipped, "en", "GEN-1", ahead, online, monday)

    assert spanish == (
        f"Le paso con una persona del equipo. Hay {ahead} conversaciones antes "
        f"que la suya; le atenderán en unos {minutes} minutos por este mismo "
        "canal."
    )
    assert english == (
        f"I'm passing you to a person from our team. There are {ahead} "
        f"conversations ahead of yours; someone will be with you here in about "
        f"{minutes} minutes."
    )


def test_one_conversation_ahead_is_said_in_the_singular(shipped: HandoffPolicy):
    monday = madrid(2026, 1, 12, 11, 0)

    assert announcement(shipped, "es", "GEN-1", 1, 1, monday) == (
        "Le paso con una persona del equipo. Hay una conversación antes que la "
        "suya; le atenderán en unos 8 minutos por este mismo canal."
    )
    assert announcement(shipped, "en", "GEN-1", 1, 1, monday) == (
        "I'm passing you to a person from our team. There is one conversation "
        "ahead of yours; someone will be with you here in about 8 minutes."
    )


@pytest.mark.parametrize("language", [None, "fr", ""])
def test_a_language_the_team_does_not_write_gets_spanish(
    shipped: HandoffPolicy, language: str | None
):
    monday = madrid(2026, 1, 12, 11, 0)

    assert announcement(shipped, language, "GEN-1", 0, 1, monday) == announcement(
        shipped, "es", "GEN-1", 0, 1, monday
    )


# -- rules -----------------------------------------------------------------------------

LARGE_DIVERGENCE = Rule(
    "large_divergence", TicketKind.DIVERGENCE, "orders", min_amount_eur=Decimal(1500)
)
RECENTLY_EXPIRED = Rule(
    "recently_expired_warranty",
    TicketKind.PAID_REPAIR,
    "warranty",
    warranty_ended_within_days=90,
)
TODAY = dt.date(2026, 5, 4)


def ticket(kind: TicketKind, **values: object) -> Ticket:
    values = {
        "number": f"T-{next(_numbers):06d}",
        "kind": kind,
        "status": TicketStatus.OPEN,
        "channel": "web",
        "conversation_id": "web-rules",
        "language": "es",
        "warranty_status": WarrantyStatus.UNKNOWN,
        **values,
    }
    return Ticket(**values)


def divergence_case(
    db: Session, unit_price: str, discount: str, quantity: int | None
) -> Ticket:
    """A divergence case of ``quantity`` units of a line at that net price."""
    shop = make_point_of_sale(db)
    line = OrderLine(
        position=1,
        product_id=make_product(db).id,
        quantity_ordered=10,
        quantity_delivered=5,
        unit_price=Decimal(unit_price),
        discount_percent=Decimal(discount),
    )
    order = Order(
        number=f"{next(_numbers):06d}",
        point_of_sale_id=shop.id,
        ordered_on=TODAY,
        status=OrderStatus.DELIVERED,
        lines=[line],
    )
    db.add(order)
    db.flush()
    case = ticket(
        TicketKind.DIVERGENCE,
        point_of_sale_id=shop.id,
        order_id=order.id,
        order_line_id=line.id,
        quantity=quantity,
    )
    db.add(case)
    db.flush()
    return case


@pytest.mark.parametrize(
    ("unit_price", "discount", "quantity", "amount", "matches"),
    [
        ("1000.00", "0", 2, "2000", True),
        ("750.00", "0", 2, "1500", True),  # the threshold itself
        ("800.00", "10", 2, "1440", False),  # net of the agreed discount
        ("800.00", "10", 3, "2160", True),
        ("5000.00", "0", None, "0", False),  # no units said: nothing at stake
    ],
    ids=["2000", "1500", "1440", "2160", "no-quantity"],
)
def test_a_divergence_goes_to_a_person_from_the_amount_at_stake(
    db: Session,
    unit_price: str,
    discount: str,
    quantity: int | None,
    amount: str,
    matches: bool,
):
    case = divergence_case(db, unit_price, discount, quantity)

    assert case_amount(case) == Decimal(amount)
    assert LARGE_DIVERGENCE.matches(case, TODAY) is matches


def test_a_divergence_without_an_order_line_is_worth_nothing():
    case = ticket(TicketKind.DIVERGENCE, quantity=3)

    assert case_amount(case) == 0
    assert not LARGE_DIVERGENCE.matches(case, TODAY)


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        (TicketKind.WARRANTY, RECENTLY_EXPIRED),
        (TicketKind.DISCOUNT, LARGE_DIVERGENCE),
        (TicketKind.HANDOFF, LARGE_DIVERGENCE),
    ],
    ids=["warranty", "discount", "handoff"],
)
def test_a_rule_only_matches_its_kind_of_case(kind: TicketKind, rule: Rule):
    case = ticket(
        kind,
        warranty_status=WarrantyStatus.EXPIRED,
        warranty_end_date=TODAY - dt.timedelta(days=10),
    )

    assert not rule.matches(case, TODAY)


def test_a_rule_of_a_kind_alone_matches_every_case_of_it():
    rule = Rule("every_display_request", TicketKind.DISPLAY_REQUEST, "display")

    assert rule.matches(ticket(TicketKind.DISPLAY_REQUEST), TODAY)
    assert not rule.matches(ticket(TicketKind.DIVERGENCE), TODAY)


@pytest.mark.parametrize(
    ("status", "ended_days_ago", "matches"),
    [
        (WarrantyStatus.EXPIRED, 1, True),
        (WarrantyStatus.EXPIRED, 90, True),
        (WarrantyStatus.EXPIRED, 91, False),
        (WarrantyStatus.EXPIRED, 400, False),
        (WarrantyStatus.EXPIRED, None, False),
        (WarrantyStatus.VALID, 10, False),
        (WarrantyStatus.UNKNOWN, 10, False),
    ],
    ids=["1-day", "90-days", "91-days", "400-days", "no-date", "valid", "unknown"],
)
def test_a_paid_repair_goes_to_a_person_when_the_warranty_ended_lately(
    status: WarrantyStatus, ended_days_ago: int | None, matches: bool
):
    ended = TODAY - dt.timedelta(days=ended_days_ago) if ended_days_ago else None
    case = ticket(
        TicketKind.PAID_REPAIR, warranty_status=status, warranty_end_date=ended
    )

    assert RECENTLY_EXPIRED.matches(case, TODAY) is matches


# -- a bad policy file -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'opening_hours:\n  monday: ["09:00", "19:00"]\n',
            "opening_hours: 'monday' is not one of",
        ),
        (
            'opening_hours:\n  mon: ["9h", "19:00"]\n',
            "opening_hours.mon: '9h' is not a time like 09:00",
        ),
        (
            'opening_hours:\n  tue: ["09:00", "25:00"]\n',
            "opening_hours.tue: '25:00' is not a time like 09:00",
        ),
        # Unquoted, YAML reads 10:00 as a number of minutes (600).
        (
            "opening_hours:\n  sat: [10:00, 14:00]\n",
            "opening_hours.sat:",
        ),
        (
            'opening_hours:\n  wed: ["19:00", "09:00"]\n',
            "opening_hours.wed: 09:00:00 is not after 19:00:00",
        ),
        (
            'opening_hours:\n  thu: "09:00-19:00"\n',
            "opening_hours.thu: give [opens, closes]",
        ),
        (
            "rules:\n  - name: refunds\n    ticket_kind: refund\n",
            "rules: 'refund' is not a ticket kind",
        ),
        (
            "rules:\n  - name: nameless\n",
            "rules: None is not a ticket kind",
        ),
        (
            "rules:\n  - name: big\n    ticket_kind: divergence\n    module: billing\n",
            "rules.big: module 'billing'",
        ),
        (
            "skills: [warranty, billing]\n",
            "skills: 'billing' is not one of",
        ),
    ],
    ids=[
        "unknown-day",
        "bad-time",
        "hour-25",
        "unquoted-time",
        "closes-before-opening",
        "not-a-pair",
        "unknown-ticket-kind",
        "no-ticket-kind",
        "unknown-rule-module",
        "unknown-skill",
    ],
)
def test_a_bad_file_is_refused_naming_the_key(tmp_path: Path, text: str, message: str):
    path = tmp_path / "handoff.yml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PolicyError) as refused:
        load_policy(path)

    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("timezone: Europe/Atlantis\n", "timezone"),
        ("opening_hours: sometimes\n", "opening_hours"),
        (
            "rules:\n  - name: big\n    ticket_kind: divergence\n"
            "    min_amount_eur: lots\n",
            "min_amount_eur",
        ),
        (
            "rules:\n  - name: late\n    ticket_kind: paid_repair\n"
            "    warranty_ended_within_days: soon\n",
            "warranty_ended_within_days",
        ),
    ],
    ids=["unknown-timezone", "hours-not-a-mapping", "amount-not-a-number", "days"],
)
def test_other_bad_values_are_refused_on_loading_naming_the_key(
    tmp_path: Path, text: str, key: str
):
    path = tmp_path / "handoff.yml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PolicyError, match=key):
        load_policy(path)
