"""Reading what shop staff write about orders: numbers, units, items, problems.

Pure functions over the text, so they are easy to read and test. Order
numbers (4 to 6 digits) look like postal codes to the language model, so they
are read from the text of the answer to "which order?", not from entities.
"""

import re
from typing import Any

from actions.formatting import fold

_ORDER_NUMBER = re.compile(r"(?<![\d\-/])(\d{4,6})(?![\d\-/])")
_TICKET_LIKE = re.compile(r"\b[a-z]{3}\s*-?\s*20\d\d\s*-?\s*\d+", re.IGNORECASE)
_DISPLAY_NUMBER = re.compile(r"\bdsp\W*(20\d\d)\W*(\d{1,6})\b", re.IGNORECASE)
_INTEGER = re.compile(r"(?<![\d.,])(-?\d+)(?![\d.,])")

NUMBER_WORDS = {
    # Spanish, without accents (the text is folded first).
    "un": 1,
    "una": 1,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
    "quince": 15,
    "veinte": 20,
    # English.
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "a": 1,
    "an": 1,
}
# "ninguna", "none", "cero": a count of zero, which is no case at all.
ZERO_WORDS = frozenset({"cero", "ninguna", "ninguno", "zero", "none", "nada"})

# Everyday words for the product categories (accent-free, both languages).
CATEGORY_WORDS = {
    "frigo": "fridge",
    "nevera": "fridge",
    "neveras": "fridge",
    "frigorifico": "fridge",
    "frigorificos": "fridge",
    "frigos": "fridge",
    "fridges": "fridge",
    "refrigerator": "fridge",
    "lavaplatos": "dishwasher",
    "lavavajillas": "dishwasher",
    "dishwashers": "dishwasher",
    "lavadora": "washing_machine",
    "lavadoras": "washing_machine",
    "washer": "washing_machine",
    "washers": "washing_machine",
    "caldera": "boiler",
    "calderas": "boiler",
    "calentador": "boiler",
    "boilers": "boiler",
    "horno": "oven",
    "hornos": "oven",
    "ovens": "oven",
}

_MISSING = (
    "falta",
    "faltan",
    "menos",
    "no vino",
    "no vinieron",
    "no llego",
    "no llegaron",
    "solo llegaron",
    "solo han llegado",
    "missing",
    "short",
    "fewer",
    "less",
    "only got",
    "didnt arrive",
    "didn't arrive",
    "not delivered",
)
_WRONG = (
    "equivocad",
    "incorrect",
    "otro modelo",
    "modelo distinto",
    "otra cosa",
    "no es el",
    "no son los",
    "no es lo que",
    "wrong",
    "different model",
    "not what",
    "another model",
)
_DAMAGE = (
    "roto",
    "rota",
    "rotos",
    "rotas",
    "golpe",
    "golpead",
    "dañad",
    "danad",
    "abollad",
    "rayad",
    "destroz",
    "aplastad",
    "mal estado",
    "broken",
    "broke",
    "damage",
    "dented",
    "dent",
    "scratch",
    "smashed",
    "crushed",
    "cracked",
)
_DELAY = (
    "retras",
    "tarde",
    "no ha llegado",
    "no llega",
    "sigue sin llegar",
    "todavia no",
    "aun no",
    "esperando",
    "late",
    "delay",
    "hasnt arrived",
    "hasn't arrived",
    "not arrived",
    "still waiting",
    "still not",
    "overdue",
)
_WHOLE_ORDER = (
    "todo",
    "todos",
    "entero",
    "completo",
    "el pedido",
    "all",
    "whole",
    "everything",
    "entire",
)


def order_number_in(text: str) -> str | None:
    """The 4-6 digit order number in "pedido 48213", "order #4512", "ped. 4520".

    A ticket number (ORD-2026-000123) or a phone number is not an order.
    """
    cleaned = _TICKET_LIKE.sub(" ", text or "")
    found = _ORDER_NUMBER.findall(cleaned.replace("#", " "))
    return found[0] if found else None


def display_number_in(text: str) -> str | None:
    """A display-unit request number: "DSP-2026-000003", "dsp 2026 3"."""
    match = _DISPLAY_NUMBER.search(text or "")
    if match is None:
        return None
    return f"DSP-{match.group(1)}-{int(match.group(2)):06d}"


def quantity_in(text: str) -> int | None:
    """A count of units: "2", "dos", "two", "10 unidades", "-1"; None if none.

    Zero words give 0, so the caller can say why zero is not a case.
    """
    folded = fold(text or "")
    numbers = _INTEGER.findall(folded)
    if numbers:
        return int(numbers[0])
    words = re.findall(r"[a-z]+", folded)
    if any(word in ZERO_WORDS for word in words):
        return 0
    for word in words:
        if word in NUMBER_WORDS and word not in ("a", "an"):
            return NUMBER_WORDS[word]
    return None


def divergence_problem_in(text: str) -> str | None:
    """ "missing" (fewer units), "wrong_model", or None when the text is not clear."""
    folded = fold(text or "")
    wrong = any(word in folded for word in _WRONG)
    missing = any(word in folded for word in _MISSING)
    if wrong == missing:
        return None
    return "wrong_model" if wrong else "missing"


def delivery_problem_in(text: str) -> str | None:
    """ "damage", "delay", or None when the text says neither (or both)."""
    folded = fold(text or "")
    damage = any(word in folded for word in _DAMAGE)
    delay = any(word in folded for word in _DELAY)
    if damage == delay:
        return None
    return "damage" if damage else "delay"


def means_whole_order(text: str) -> bool:
    folded = f" {fold(text or '')} "
    return any(f" {word} " in folded for word in _WHOLE_ORDER)


def line_label(line: dict[str, Any], language: str) -> str:
    """ "lavavajillas CleanLine 45 cm (DW-CL45)" / "CleanLine 45 cm dishwasher"."""
    category = line["category"]["name_en" if language == "en" else "name_es"].lower()
    if language == "en":
        return f"{line['product_name']} {category} ({line['sku']})"
    return f"{category} {line['product_name']} ({line['sku']})"


def find_lines(order: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """The order's lines the text names: by SKU, model, product word or position.

    "la linea 2", "line 2" or a bare "2" on an order with at least 2 lines
    name a position; "DW-CL45", "cleanline 45", "lavavajillas", "los frigos"
    name a product. Several matches are returned for the caller to ask.
    """
    lines = order.get("lines") or []
    folded = fold(text or "")
    compact = re.sub(r"[^a-z0-9]", "", folded)
    if not compact:
        return []
    by_sku = [
        line
        for line in lines
        if re.sub(r"[^a-z0-9]", "", line["sku"].lower()) in compact
    ]
    if by_sku:
        return by_sku
    words = set(re.findall(r"[a-z0-9]+", folded))
    categories = {CATEGORY_WORDS[word] for word in words if word in CATEGORY_WORDS}
    matches = []
    for line in lines:
        name = fold(line["product_name"])
        names = {
            fold(line["category"]["name_es"]),
            fold(line["category"]["name_en"]),
        }
        if (
            (name and (name in folded or folded in name))
            or any(category and category in folded for category in names)
            or line["category"]["code"] in categories
        ):
            matches.append(line)
    if matches:
        return matches
    position = re.fullmatch(r"(?:la |line |linea |la linea |n )?(\d{1,2})", folded)
    if position:
        wanted = int(position.group(1))
        return [line for line in lines if line["position"] == wanted]
    return []
