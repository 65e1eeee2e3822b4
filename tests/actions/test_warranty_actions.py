"""The end of a claim, its cancellation, the warranty term and a human agent."""

from collections.abc import Callable
from typing import Any

import pytest

from actions.warranty_actions import (
    ActionAnswerWarrantyTerm,
    ActionCancelClaim,
    ActionFinishWarrantyClaim,
)
from tests.actions.factories import (
    assert_claim_cleared,
    run_action,
)

pytestmark = pytest.mark.anyio

TicketReader = Callable[[str], dict[str, Any]]

ECOWASH = {
    "serial_number": "WM 4821 7730",
    "name": "EcoWash 8 kg",
    "category": "washing_machine",
    "category_es": "Lavadora",
    "category_en": "Washing machine",
    "term_months": 36,
}


class TestFinishWarrantyClaim:
    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            (
                "es",
                "De acuerdo, no abro ningún caso. Si cambia de opinión, escríbame "
                "cuando quiera.",
            ),
            (
                "en",
                "All right, I won't open a case. If you change your mind, just "
                "write to me.",
            ),
        ],
    )
    async def test_a_claim_without_ticket_says_nothing_was_opened(
        self, language: str, expected: str
    ) -> None:
        said, slots = await run_action(
            ActionFinishWarrantyClaim(),
            slots={"claim_option": "none", "serial_attempts": 3},
            language=language,
        )

        assert said == [expected]
        assert_claim_cleared(slots)

    async def test_an_assigned_ticket_names_the_centre_in_english(self) -> None:
        ticket = {
            "number": "WAR-2026-000042",
            "status": "assigned",
            "kind": "warranty",
            "centre": "Servicio Técnico Levante",
            "postal_code": "46001",
        }

        said, slots = await run_action(
            ActionFinishWarrantyClaim(), slots={"ticket": ticket}, language="en"
        )

        assert said == [
            "Done: case WAR-2026-000042 is with Servicio Técnico Levante, who "
            "cover postcode 46001. They will call you within 48 hours, and we will "
            "check on the repair in 3 to 5 days."
        ]
        assert_claim_cleared(slots)

    async def test_a_pending_ticket_says_the_team_will_assign_it(self) -> None:
        ticket = {
            "number": "REP-2026-000007",
            "status": "pending_assignment",
            "kind": "paid_repair",
            "centre": None,
            "postal_code": "48001",
        }

        said, _ = await run_action(
            ActionFinishWarrantyClaim(), slots={"ticket": ticket}
        )

        assert said == [
            "He abierto el caso REP-2026-000007. Ningún centro técnico cubre ahora "
            "su zona para este aparato, así que nuestro equipo lo asignará y le "
            "llamará en 48 horas."
        ]

    async def test_a_problem_solved_during_the_chat_is_recorded_as_solved(
        self,
    ) -> None:
        ticket = {
            "number": "WAR-2026-000009",
            "status": "resolved",
            "kind": "warranty",
            "centre": None,
            "postal_code": None,
        }

        said, _ = await run_action(
            ActionFinishWarrantyClaim(),
            slots={"ticket": ticket, "problem_solved": True},
            language="en",
        )

        assert said == [
            "Great! I've recorded it as solved (case WAR-2026-000009). If it "
            "happens again, write to me with that number."
        ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "De acuerdo, lo dejo aquí: no he abierto ningún caso."),
        ("en", "All right, I've stopped there: no case has been opened."),
    ],
)
async def test_cancelling_clears_the_claim(language: str, expected: str) -> None:
    said, slots = await run_action(
        ActionCancelClaim(),
        slots={"serial_number": "WM 4821 7730", "serial_attempts": 1},
        language=language,
    )

    assert said == [expected]
    assert_claim_cleared(slots)


class TestAnswerWarrantyTerm:
    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            (
                "es",
                "La garantía de su lavadora EcoWash 8 kg dura 36 meses desde la "
                "compra, hasta el 14/03/2029.",
            ),
            (
                "en",
                "The warranty on your EcoWash 8 kg washing machine lasts 36 months "
                "from purchase, until 14/03/2029.",
            ),
        ],
    )
    async def test_a_known_unit_gets_its_own_end_date(
        self, language: str, expected: str
    ) -> None:
        said, slots = await run_action(
            ActionAnswerWarrantyTerm(),
            slots={"unit": ECOWASH, "warranty_end_date": "2029-03-14"},
            language=language,
        )

        assert said == [expected]
        assert slots == {}

    @pytest.mark.parametrize(
        "slots",
        [
            {},
            {"unit": {**ECOWASH, "term_months": None}, "warranty_end_date": None},
        ],
    )
    async def test_otherwise_the_legal_terms_are_explained(
        self, slots: dict[str, Any]
    ) -> None:
        said, _ = await run_action(
            ActionAnswerWarrantyTerm(), slots=slots, language="en"
        )

        assert said[0].startswith(
            "In Spain, new appliances bought since 2022 have a 3-year legal warranty"
        )
