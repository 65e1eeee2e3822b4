from sqlalchemy.orm import Session

from crm_bridge.services.routing import find_service_centre
from tests.crm_bridge.factories import make_category, make_service_centre


def test_the_centre_covering_area_and_category_is_chosen(db: Session) -> None:
    make_category(db, "washing_machine")
    make_category(db, "boiler", name_es="Caldera", name_en="Boiler")
    levante = make_service_centre(
        db, ("46", "03"), ("washing_machine", "boiler"), code="CAT-LEV"
    )
    make_service_centre(db, ("48",), ("boiler",), code="CAT-NOR")

    assert find_service_centre(db, "46001", "washing_machine") == levante
    assert find_service_centre(db, "03001", "boiler") == levante
    assert find_service_centre(db, "48001", "washing_machine") is None
    assert find_service_centre(db, "28013", "boiler") is None


def test_the_longest_matching_prefix_wins(db: Session) -> None:
    make_category(db, "fridge", name_es="Frigorífico", name_en="Fridge")
    make_service_centre(db, ("28",), ("fridge",), code="CAT-A-CENTRO")
    city = make_service_centre(db, ("280",), ("fridge",), code="CAT-Z-MADRID")

    assert find_service_centre(db, "28013", "fridge") == city
    assert find_service_centre(db, "28400", "fridge").code == "CAT-A-CENTRO"


def test_a_tie_goes_to_the_lowest_centre_code(db: Session) -> None:
    make_category(db, "washing_machine")
    make_service_centre(db, ("46",), ("washing_machine",), code="CAT-B")
    make_service_centre(db, ("46",), ("washing_machine",), code="CAT-A")

    assert find_service_centre(db, "46001", "washing_machine").code == "CAT-A"
