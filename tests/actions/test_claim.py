"""The claim's branching (required_claim_slots) and its ticket payload."""

from typing import Any

import pytest

from actions.claim import (
    CLAIM_SLOTS,
    CONTACT_SLOTS,
    MAX_SERIAL_ATTEMPTS,
    answer_for,
    channel_of,
    idempotency_key,
    required_claim_slots,
    ticket_kind,
    ticket_payload,
)
from tests.actions.factories import (
    form_activated,
    make_tracker,
    next_slot,
    user_event,
)

LUCIA = {
    "customer_name": "Lucía Martín",
    "phone_number": "+34612345222",
    "postal_code": "46001",
}


def valid_unit(**slots: Any) -> dict[str, Any]:
    """Slots right after a serial under warranty was found."""
    return {
        "serial_number": "WM 4821 7730",
        "serial_attempts": 1,
        "product_category": "washing_machine",
        "warranty_status": "valid",
        "check_step": 0,
        "check_phase": "done",
        **slots,
    }


def expired_unit(**slots: Any) -> dict[str, Any]:
    return valid_unit(serial_number="WM-2019-00417", warranty_status="expired", **slots)


class TestUnknownSerial:
    @pytest.mark.parametrize("attempts", range(MAX_SERIAL_ATTEMPTS))
    def test_the_serial_is_asked_until_the_third_attempt(self, attempts: int) -> None:
        assert next_slot({"serial_attempts": attempts}) == "serial_number"

    def test_after_three_attempts_the_ways_forward_are_offered(self) -> None:
        assert required_claim_slots({"serial_attempts": 3}) == ["claim_option"]

    def test_going_on_without_serial_asks_the_category_then_contact(self) -> None:
        slots: dict[str, Any] = {"serial_attempts": 3, "claim_option": "without_serial"}

        assert required_claim_slots(slots) == [
            "claim_option",
            "product_category",
            *CONTACT_SLOTS,
            "claim_confirmed",
        ]
        asked = []
        for slot, answer in [
            ("product_category", "fridge"),
            ("customer_name", "Sarah Thompson"),
            ("phone_number", "+34699334455"),
            ("postal_code", "03001"),
            ("claim_confirmed", True),
        ]:
            asked.append(next_slot(slots))
            slots[slot] = answer
        assert asked == [
            "product_category",
            "customer_name",
            "phone_number",
            "postal_code",
            "claim_confirmed",
        ]
        assert next_slot(slots) is None

    def test_declining_both_ways_forward_ends_the_form(self) -> None:
        assert next_slot({"serial_attempts": 3, "claim_option": "none"}) is None


class TestExpiredWarranty:
    def test_the_ways_forward_are_offered(self) -> None:
        slots = expired_unit()

        assert required_claim_slots(slots) == ["serial_number", "claim_option"]
        assert next_slot(slots) == "claim_option"

    def test_a_paid_repair_asks_for_contact_then_confirmation(self) -> None:
        slots = expired_unit(claim_option="paid_repair")

        assert required_claim_slots(slots) == [
            "serial_number",
            "claim_option",
            *CONTACT_SLOTS,
            "claim_confirmed",
        ]
        assert next_slot(slots) == "customer_name"

    def test_a_paid_repair_for_a_known_customer_confirms_the_contact(self) -> None:
        slots = expired_unit(claim_option="paid_repair", contact_known=True, **LUCIA)

        assert next_slot(slots) == "contact_confirmed"
        assert next_slot({**slots, "contact_confirmed": True}) == "claim_confirmed"

    def test_declining_the_paid_repair_ends_the_form(self) -> None:
        assert next_slot(expired_unit(claim_option="none")) is None

    def test_no_guided_checks_are_offered(self) -> None:
        slots = expired_unit(claim_option="paid_repair", check_phase="question")

        assert "check_answer" not in required_claim_slots(slots)


class TestValidWarranty:
    def test_a_guided_check_is_asked_before_the_contact(self) -> None:
        slots = valid_unit(check_phase="question")

        assert required_claim_slots(slots)[:2] == ["serial_number", "check_answer"]
        assert next_slot(slots) == "check_answer"

    def test_the_advice_of_a_check_is_asked_about_too(self) -> None:
        assert next_slot(valid_unit(check_phase="advice")) == "check_answer"

    def test_a_problem_solved_by_a_check_ends_the_form_at_once(self) -> None:
        slots = valid_unit(check_phase="advice", check_answer=True, problem_solved=True)

        assert required_claim_slots(slots) == ["serial_number"]
        assert next_slot(slots) is None

    def test_after_the_checks_the_contact_is_asked(self) -> None:
        slots = valid_unit(check_phase="done", check_answer=False)

        assert "check_answer" not in required_claim_slots(slots)
        assert next_slot(slots) == "customer_name"

    def test_without_checks_the_contact_comes_right_after_the_serial(self) -> None:
        assert next_slot(valid_unit(check_phase=None)) == "customer_name"

    def test_a_known_contact_is_confirmed_instead_of_asked(self) -> None:
        slots = valid_unit(contact_known=True, **LUCIA)

        assert required_claim_slots(slots) == [
            "serial_number",
            "contact_confirmed",
            *CONTACT_SLOTS,
            "claim_confirmed",
        ]
        assert next_slot(slots) == "contact_confirmed"
        assert next_slot({**slots, "contact_confirmed": True}) == "claim_confirmed"

    def test_a_declined_contact_is_asked_field_by_field(self) -> None:
        # What validate_contact_confirmed leaves after a "no".
        slots = valid_unit(
            contact_known=False,
            contact_confirmed=False,
            **dict.fromkeys(CONTACT_SLOTS),
        )

        assert next_slot(slots) == "customer_name"

    @pytest.mark.parametrize("answer", [True, False, "unclear"])
    def test_an_answer_never_removes_its_own_question(self, answer) -> None:
        # The form validates only the slots listed after extraction: if the
        # answer dropped contact_confirmed from the list, it would be ignored.
        slots = valid_unit(contact_known=True, contact_confirmed=answer)

        assert "contact_confirmed" in required_claim_slots(slots)

    def test_a_unit_without_purchase_date_goes_through_checks_too(self) -> None:
        slots = valid_unit(warranty_status="unknown", check_phase="question")

        assert next_slot(slots) == "check_answer"

    def test_the_whole_claim_ends_once_confirmed(self) -> None:
        slots = valid_unit(contact_known=True, contact_confirmed=True, **LUCIA)

        assert next_slot({**slots, "claim_confirmed": True}) is None


def test_every_slot_the_form_asks_is_cleared_when_the_claim_ends() -> None:
    asked = set(required_claim_slots(valid_unit(check_phase="question")))
    asked |= set(required_claim_slots({"serial_attempts": 3, "claim_option": "x"}))
    asked |= set(required_claim_slots({**expired_unit(), "contact_known": True}))

    assert asked <= set(CLAIM_SLOTS)


@pytest.mark.parametrize(
    ("option", "kind"),
    [
        ("paid_repair", "paid_repair"),
        ("without_serial", "warranty"),
        (None, "warranty"),
    ],
)
def test_ticket_kind(option: str | None, kind: str) -> None:
    assert ticket_kind({"claim_option": option}) == kind


class TestIdempotencyKey:
    def test_it_names_the_conversation_the_kind_and_the_form_start(self) -> None:
        tracker = make_tracker(
            sender_id="conv-1",
            events=[user_event("hola", 100.0), form_activated(101.25)],
        )

        assert idempotency_key(tracker, "warranty") == "conv-1:warranty:101.250000"

    def test_a_repeated_confirmation_gives_the_same_key(self) -> None:
        events = [user_event("hola"), form_activated(), user_event("sí")]
        first = make_tracker(sender_id="conv-2", events=events)
        again = make_tracker(sender_id="conv-2", events=[*events, user_event("sí")])

        assert idempotency_key(first, "warranty") == idempotency_key(again, "warranty")

    def test_a_second_claim_in_the_conversation_gets_a_new_key(self) -> None:
        first_claim = [user_event("hola"), form_activated(200.0)]
        second_claim = [
            *first_claim,
            {"event": "active_loop", "name": None, "timestamp": 300.0},
            user_event("otra avería"),
            form_activated(400.0),
        ]

        first = idempotency_key(make_tracker(events=first_claim), "warranty")
        second = idempotency_key(make_tracker(events=second_claim), "warranty")

        assert first.endswith(":200.000000")
        assert second.endswith(":400.000000")

    def test_other_loops_do_not_count(self) -> None:
        events = [{"event": "active_loop", "name": "other_form", "timestamp": 5.0}]
        tracker = make_tracker(sender_id="conv-3", events=events)

        assert idempotency_key(tracker, "paid_repair") == "conv-3:paid_repair:none"


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("web", "web"),
        ("sms", "sms"),
        ("voice", "voice"),
        ("telegram", "telegram"),
        ("whatsapp", "web"),
        (None, "web"),
    ],
)
def test_the_channel_comes_from_the_latest_user_message(
    channel: str | None, expected: str
) -> None:
    tracker = make_tracker(events=[user_event("hola", channel=channel)])

    assert channel_of(tracker) == expected


class TestTicketPayload:
    def test_a_warranty_claim_with_its_customer(self) -> None:
        tracker = make_tracker(
            {
                **valid_unit(contact_known=True, contact_confirmed=True, **LUCIA),
                "fault_description": "No centrifuga",
            },
            sender_id="conv-4",
            channel="telegram",
        )

        payload = ticket_payload(tracker, resolved_first_contact=False)

        assert payload == {
            "idempotency_key": idempotency_key(tracker, "warranty"),
            "kind": "warranty",
            "channel": "telegram",
            "conversation_id": "conv-4",
            "language": "es",
            "serial_number": "WM 4821 7730",
            "product_category": "washing_machine",
            "fault_description": "No centrifuga",
            "customer": {
                "name": "Lucía Martín",
                "phone": "+34612345222",
                "postal_code": "46001",
            },
            "resolved_first_contact": False,
        }

    def test_a_paid_repair_is_its_own_kind(self) -> None:
        tracker = make_tracker(expired_unit(claim_option="paid_repair"))

        payload = ticket_payload(tracker, resolved_first_contact=False)

        assert payload["kind"] == "paid_repair"
        assert ":paid_repair:" in payload["idempotency_key"]

    def test_partial_contact_data_sends_no_customer(self) -> None:
        tracker = make_tracker({"customer_name": "Ana", "phone_number": None})

        assert ticket_payload(tracker, False)["customer"] is None

    def test_long_faults_are_cut_and_empty_ones_left_out(self) -> None:
        long_fault = make_tracker({"fault_description": "x" * 5000})
        no_fault = make_tracker({"fault_description": ""})

        assert len(ticket_payload(long_fault, False)["fault_description"]) == 2000
        assert ticket_payload(no_fault, False)["fault_description"] is None

    def test_a_conversation_without_language_is_spanish(self) -> None:
        payload = ticket_payload(make_tracker(language=None), True)

        assert payload["language"] == "es"
        assert payload["resolved_first_contact"] is True


@pytest.mark.parametrize("intent", ["switch_language", "help", "cancel"])
def test_a_request_of_its_own_answers_no_yes_or_no_question(intent: str) -> None:
    assert answer_for("check_answer", intent) is None
    assert answer_for("claim_confirmed", intent) is None


def test_words_that_are_neither_yes_nor_no_are_unclear() -> None:
    assert answer_for("check_answer", "inform") == "unclear"
    assert answer_for("check_answer", "affirm") is True
