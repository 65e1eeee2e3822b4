"""Reading order numbers, quantities, items and problems as shop staff write."""

import pytest

from actions.order_words import (
    delivery_problem_in,
    divergence_problem_in,
    find_lines,
    means_whole_order,
    order_number_in,
    quantity_in,
)

ORDER = {
    "number": "4512",
    "lines": [
        {
            "position": 1,
            "sku": "FR-NF185",
            "product_name": "FreshCool No Frost 185",
            "category": {
                "code": "fridge",
                "name_es": "Frigorífico",
                "name_en": "Fridge",
            },
        },
        {
            "position": 2,
            "sku": "EW8-1400",
            "product_name": "EcoWash 8 kg",
            "category": {
                "code": "washing_machine",
                "name_es": "Lavadora",
                "name_en": "Washing machine",
            },
        },
    ],
}


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("estado del pedido 48213", "48213"),
        ("order #4512", "4512"),
        ("ped. 4520", "4520"),
        ("mi pedido 4512 llego roto y quiero saber de mi reparacion", "4512"),
        ("caso WAR-2026-000123", None),
        ("612 345 222", None),
        ("banana", None),
        ("123", None),
    ],
)
def test_order_numbers(text: str, number: str | None) -> None:
    assert order_number_in(text) == number


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("2", 2),
        ("dos", 2),
        ("two", 2),
        ("10 unidades", 10),
        ("me falta una", 1),
        ("-1", -1),
        ("ninguna", 0),
        ("banana", None),
        ("a wrong model", None),
    ],
)
def test_quantities(text: str, quantity: int | None) -> None:
    assert quantity_in(text) == quantity


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("me faltan 2 lavavajillas", "missing"),
        ("only got 8 of 10", "missing"),
        ("you sent the wrong model", "wrong_model"),
        ("nos mandaron otro modelo", "wrong_model"),
        ("hola", None),
    ],
)
def test_divergence_problems(text: str, problem: str | None) -> None:
    assert divergence_problem_in(text) == problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ha llegado el frigo con un golpe", "damage"),
        ("order 4512 arrived broken", "damage"),
        ("el pedido lleva una semana de retraso", "delay"),
        ("it's late", "delay"),
        ("hola", None),
    ],
)
def test_delivery_problems(text: str, problem: str | None) -> None:
    assert delivery_problem_in(text) == problem


@pytest.mark.parametrize(
    ("text", "positions"),
    [
        ("FR-NF185", [1]),
        ("el frigo", [1]),
        ("las lavadoras", [2]),
        ("ecowash 8 kg", [2]),
        ("the washing machine", [2]),
        ("2", [2]),
        ("la linea 1", [1]),
        ("caldera", []),
        ("7", []),
    ],
)
def test_lines_named(text: str, positions: list[int]) -> None:
    assert [line["position"] for line in find_lines(ORDER, text)] == positions


def test_the_whole_order() -> None:
    assert means_whole_order("todo el pedido")
    assert means_whole_order("all of it")
    assert not means_whole_order("la lavadora")
