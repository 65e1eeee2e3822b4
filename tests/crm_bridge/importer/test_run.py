import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.importer import import_directory
from crm_bridge.importer.load import FileReport
from crm_bridge.models import (
    Base,
    Customer,
    GuidedCheck,
    PointOfSale,
    ProductCategory,
    ServiceCentre,
    ShopContact,
    Unit,
    WarrantyTerm,
)
from crm_bridge.services.normalize import registration_code_hash
from tests.crm_bridge.conftest import DEMO_DATA


def _counts(db: Session) -> dict[str, int]:
    return {
        table.name: db.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEMO_DATA, tmp_path / "data"))


def test_the_demo_data_imports_cleanly(db: Session) -> None:
    reports: list[FileReport] = []

    result = import_directory(db, DEMO_DATA, progress=reports.append)

    assert result.errors == []
    assert [str(r) for r in reports][:2] == [
        "categories.csv: 5 rows (5 created, 0 updated)",
        "warranty_terms.csv: 10 rows (10 created, 0 updated)",
    ]
    files = [r.file for r in reports]
    assert files.index("points_of_sale.csv") < files.index("shop_contacts.csv")
    assert files.index("customers.csv") < files.index("units.csv")
    assert all(r.created == r.rows for r in reports)
    counts = _counts(db)
    assert counts["units"] == 9
    assert counts["service_centres"] == 6
    assert counts["guided_checks"] >= 12


def test_importing_the_same_files_again_changes_nothing(db: Session) -> None:
    import_directory(db, DEMO_DATA)
    before = _counts(db)
    reports: list[FileReport] = []

    result = import_directory(db, DEMO_DATA, progress=reports.append)

    assert result.ok
    assert reports and [(r.created, r.updated) for r in reports] == [(0, 0)] * len(
        reports
    )
    assert {r.file for r in reports} == {p.name for p in DEMO_DATA.glob("*.csv")}
    assert _counts(db) == before


def test_one_bad_row_means_nothing_is_imported(db: Session, demo_copy: Path) -> None:
    units = demo_copy / "units.csv"
    lines = units.read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6].replace("2023-06-01", "2024-13-01")
    units.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = import_directory(db, demo_copy)

    assert [str(e) for e in result.errors] == [
        "units.csv:7: purchase_date: '2024-13-01' is not a date (yyyy-mm-dd)"
    ]
    assert result.files == []
    assert set(_counts(db).values()) == {0}


def test_errors_of_every_file_are_reported_together(
    db: Session, demo_copy: Path
) -> None:
    (demo_copy / "categories.csv").write_text(
        "code,name_es,name_en\nBad Code,X,Y\n", encoding="utf-8"
    )
    with (demo_copy / "customers.csv").open("a", encoding="utf-8") as handle:
        handle.write("+34612345222,Otra Lucía,,46001,es\n")

    result = import_directory(db, demo_copy)

    messages = [str(e) for e in result.errors]
    assert messages[0] == (
        "categories.csv:2: code: 'Bad Code' is not a code (a-z, 0-9, _)"
    )
    assert "customers.csv:10: phone: repeats line 2" in messages
    assert any(m.startswith("products.csv:2: category_code:") for m in messages)
    assert db.scalar(select(func.count()).select_from(ProductCategory)) == 0


def test_a_changed_row_is_updated_in_place(db: Session, demo_copy: Path) -> None:
    import_directory(db, DEMO_DATA)
    customers = demo_copy / "customers.csv"
    customers.write_text(
        customers.read_text(encoding="utf-8").replace(
            "Lucía Martín", "Lucía Martín Gil"
        ),
        encoding="utf-8",
    )
    reports: list[FileReport] = []

    import_directory(db, demo_copy, progress=reports.append)

    customer_report = next(r for r in reports if r.file == "customers.csv")
    assert (customer_report.created, customer_report.updated) == (0, 1)
    lucia = db.scalars(select(Customer).where(Customer.phone == "+34612345222")).one()
    assert lucia.name == "Lucía Martín Gil"
    assert db.scalar(select(func.count()).select_from(Customer)) == 8


def test_service_centre_coverage_becomes_exactly_the_listed_one(
    db: Session, demo_copy: Path
) -> None:
    import_directory(db, DEMO_DATA)
    centres = demo_copy / "service_centres.csv"
    centres.write_text(
        centres.read_text(encoding="utf-8").replace(
            "46;03;12,washing_machine;dishwasher;fridge;boiler", "46;30,boiler"
        ),
        encoding="utf-8",
    )

    import_directory(db, demo_copy)

    db.expire_all()
    levante = db.scalars(
        select(ServiceCentre).where(ServiceCentre.code == "CAT-LEV")
    ).one()
    assert [a.postal_prefix for a in levante.areas] == ["30", "46"]
    assert [c.category_code for c in levante.categories] == ["boiler"]


def test_files_may_be_imported_alone_against_the_database(
    db: Session, tmp_path: Path
) -> None:
    import_directory(db, DEMO_DATA)
    (tmp_path / "units.csv").write_text(
        "serial_number,sku,purchase_date\nNEW-0001,HP-24,2025-02-28\n",
        encoding="utf-8",
    )

    result = import_directory(db, tmp_path)

    assert result.ok
    assert db.scalar(select(Unit).where(Unit.serial_key == "NEW0001")) is not None


def test_a_dry_run_checks_and_loads_but_writes_nothing(db: Session) -> None:
    result = import_directory(db, DEMO_DATA, dry_run=True)

    assert result.ok
    assert len(result.files) == len(list(DEMO_DATA.glob("*.csv")))
    assert db.scalar(select(func.count()).select_from(WarrantyTerm)) == 0


def test_an_empty_or_missing_folder_is_an_error(db: Session, tmp_path: Path) -> None:
    (tmp_path / "unit.csv").write_text("serial_number,sku\n", encoding="utf-8")

    empty = import_directory(db, tmp_path)
    missing = import_directory(db, tmp_path / "nope")

    assert empty.ignored == ["unit.csv"]
    assert str(empty.errors[0]).startswith(f"{tmp_path}: has none of the files")
    assert str(missing.errors[0]) == f"{tmp_path / 'nope'}: is not a directory"


def test_demo_guided_checks_exist_in_both_languages(demo_data: Session) -> None:
    pairs = demo_data.execute(
        select(GuidedCheck.category_code, GuidedCheck.language, GuidedCheck.position)
    ).all()
    spanish = {(c, p) for c, lang, p in pairs if lang == "es"}
    english = {(c, p) for c, lang, p in pairs if lang == "en"}

    assert spanish == english
    assert {("washing_machine", 1), ("boiler", 2), ("dishwasher", 1)} <= spanish


def test_shop_codes_are_kept_hashed_and_staff_phones_point_at_shops(
    db: Session,
) -> None:
    import_directory(db, DEMO_DATA)

    turia = db.scalar(select(PointOfSale).where(PointOfSale.code == "PV-VLC-01"))
    staff = db.scalar(select(ShopContact).where(ShopContact.phone == "+34611000111"))

    assert turia.registration_code_hash == registration_code_hash("turia 4471")
    assert "TURIA" not in turia.registration_code_hash
    assert staff.point_of_sale_id == turia.id


def test_a_weak_code_and_a_staff_phone_of_no_shop_are_refused(
    db: Session, demo_copy: Path
) -> None:
    shops = demo_copy / "points_of_sale.csv"
    shops.write_text(
        shops.read_text(encoding="utf-8").replace("TURIA-4471", "T-1"),
        encoding="utf-8",
    )
    with (demo_copy / "shop_contacts.csv").open("a", encoding="utf-8") as handle:
        handle.write("+34611000999,PV-NOWHERE,Nadie\n")

    result = import_directory(db, demo_copy)

    errors = {str(error) for error in result.errors}
    assert {
        "points_of_sale.csv:2: registration_code: needs at least 6 letters or digits",
        "shop_contacts.csv:5: point_of_sale_code: 'PV-NOWHERE' is neither in "
        "points_of_sale.csv nor in the database",
    } <= errors
