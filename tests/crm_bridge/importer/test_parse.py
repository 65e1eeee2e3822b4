import datetime as dt
from pathlib import Path

import pytest

from crm_bridge.importer.parse import FILE_SPECS, read_file
from crm_bridge.importer.rows import UnitRow

SPECS = {spec.name: spec for spec in FILE_SPECS}


def _read(tmp_path: Path, name: str, text: str) -> tuple[list, list[str]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    rows, errors = read_file(path, SPECS[name])
    return rows, [str(error) for error in errors]


def test_a_unit_row_is_parsed_and_normalized(tmp_path: Path) -> None:
    rows, errors = _read(
        tmp_path,
        "units.csv",
        "serial_number,sku,purchase_date,customer_phone\n"
        "wm 4821-7730 , EW8-1400,2026-03-14, 612 34 52 22\n",
    )

    assert errors == []
    assert rows == [
        UnitRow(
            line=2,
            serial_number="wm 4821-7730",
            serial_key="WM48217730",
            sku="EW8-1400",
            purchase_date=dt.date(2026, 3, 14),
            market="ES",
            point_of_sale_code=None,
            customer_phone="+34612345222",
        )
    ]


def test_row_errors_name_file_line_column_and_value(tmp_path: Path) -> None:
    _, errors = _read(
        tmp_path,
        "units.csv",
        "serial_number,sku,purchase_date,market,customer_phone\n"
        "A-1,EW8-1400,2024-01-01,ES,\n"
        "\n"
        "A-2,EW8-1400,2024-13-01,ES,\n"
        "A-3,,14/03/2024,España,611\n",
    )

    assert errors == [
        "units.csv:4: purchase_date: '2024-13-01' is not a date (yyyy-mm-dd)",
        "units.csv:5: sku: is required",
        "units.csv:5: purchase_date: '14/03/2024' is not a date (yyyy-mm-dd)",
        "units.csv:5: market: 'España' is not a 2-letter market code like ES",
        "units.csv:5: customer_phone: '611' is not a phone number "
        "(9 Spanish digits or +country code)",
    ]


def test_missing_and_unknown_columns_are_reported_on_line_1(tmp_path: Path) -> None:
    rows, errors = _read(
        tmp_path, "products.csv", "sku,name,brnad,category_code\nX,Y,Z,boiler\n"
    )

    assert rows == []
    assert errors[0] == "products.csv:1: missing column 'brand'"
    assert errors[1].startswith("products.csv:1: unknown column 'brnad' (known: ")


def test_a_row_with_the_wrong_number_of_values_is_an_error(tmp_path: Path) -> None:
    _, errors = _read(
        tmp_path,
        "categories.csv",
        "code,name_es,name_en\nboiler,Caldera\noven,Horno,Oven,extra\n",
    )

    assert errors == [
        "categories.csv:2: has 2 values for 3 columns",
        "categories.csv:3: has 4 values for 3 columns",
    ]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (
            "boiler,ES,2022-01-01,2021-01-01,36",
            "purchased_until: '2021-01-01' is before purchased_from '2022-01-01'",
        ),
        ("boiler,ES,2022-01-01,,0", "months: '0' is not a whole number >= 1"),
        ("boiler,ES,2022-01-01,,three", "months: 'three' is not a whole number >= 1"),
        ("boiler,es,2022-01-01,,36", "market: 'es' is not a 2-letter market code"),
    ],
)
def test_warranty_term_values_are_checked(
    tmp_path: Path, line: str, error: str
) -> None:
    _, errors = _read(
        tmp_path,
        "warranty_terms.csv",
        f"category_code,market,purchased_from,purchased_until,months\n{line}\n",
    )

    assert len(errors) == 1
    assert errors[0].startswith(f"warranty_terms.csv:2: {error}")


def test_service_centre_coverage_lists_are_split_and_checked(tmp_path: Path) -> None:
    header = "code,name,phone,email,postal_prefixes,categories\n"
    rows, errors = _read(
        tmp_path,
        "service_centres.csv",
        header + "CAT-1,Levante,961234500,a@b.es, 46; 03 ;12,boiler;fridge\n"
        "CAT-2,Norte,961234500,not-an-email,4A,Boiler\n",
    )

    assert rows[0].postal_prefixes == ("46", "03", "12")
    assert rows[0].categories == ("boiler", "fridge")
    assert errors == [
        "service_centres.csv:3: email: 'not-an-email' is not an email address",
        "service_centres.csv:3: postal_prefixes: '4A' is not a postal prefix "
        "(1-5 digits)",
        "service_centres.csv:3: categories: 'Boiler' is not a category code",
    ]


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "categories.csv"
    path.write_bytes(
        "code,name_es,name_en\nfridge,Frigorífico,Fridge\n".encode("cp1252")
    )

    rows, errors = read_file(path, SPECS["categories.csv"])

    assert rows == []
    assert str(errors[0]).startswith("categories.csv:1: is not UTF-8 text")


def test_a_byte_order_mark_and_quoted_commas_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "guided_checks.csv"
    path.write_text(
        "category_code,language,position,question,advice\n"
        'boiler,es,1,"¿Marca menos de 1 bar, o nada?","Rellene, y cierre."\n',
        encoding="utf-8-sig",
    )

    rows, errors = read_file(path, SPECS["guided_checks.csv"])

    assert errors == []
    assert rows[0].question == "¿Marca menos de 1 bar, o nada?"
