"""surveys.csv and survey_questions.csv: the questionnaire as data."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.importer import import_directory
from crm_bridge.models import QuestionKind, Survey, SurveyQuestion
from tests.crm_bridge.conftest import DEMO_DATA

SURVEYS = "code,name,active\nafter_visit,Tras la visita,yes\nold,Antigua,no\n"
QUESTIONS = (
    "survey_code,position,kind,text_es,text_en\n"
    "after_visit,1,scale,¿Puntualidad?,Punctuality?\n"
    "after_visit,2,text,¿Algo más?,Anything else?\n"
)


def _write(folder: Path, surveys: str, questions: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "surveys.csv").write_text(surveys, encoding="utf-8")
    (folder / "survey_questions.csv").write_text(questions, encoding="utf-8")
    return folder


def test_the_demo_survey_has_two_scores_and_a_comment_in_both_languages(
    db: Session,
) -> None:
    assert import_directory(db, DEMO_DATA).ok

    survey = db.get(Survey, "post_repair")

    assert survey is not None and survey.active
    assert [q.kind for q in survey.questions] == [
        QuestionKind.SCALE,
        QuestionKind.SCALE,
        QuestionKind.TEXT,
    ]
    assert all(q.text_es and q.text_en for q in survey.questions)


def test_surveys_import_and_a_changed_wording_keeps_the_question(
    db: Session, tmp_path: Path
) -> None:
    folder = _write(tmp_path / "data", SURVEYS, QUESTIONS)
    assert import_directory(db, folder).ok
    first_id = db.scalar(select(SurveyQuestion.id).where(SurveyQuestion.position == 1))

    _write(folder, SURVEYS, QUESTIONS.replace("¿Puntualidad?", "¿Llegó a tiempo?"))
    result = import_directory(db, folder)

    assert result.ok
    assert [(r.file, r.created, r.updated) for r in result.files] == [
        ("surveys.csv", 0, 0),
        ("survey_questions.csv", 0, 1),
    ]
    question = db.get(SurveyQuestion, first_id)
    assert question is not None and question.text_es == "¿Llegó a tiempo?"
    assert db.get(Survey, "old").active is False


def test_bad_survey_rows_are_reported_and_nothing_is_imported(
    db: Session, tmp_path: Path
) -> None:
    folder = _write(
        tmp_path / "data",
        "code,name,active\nafter_visit,Tras la visita,\nbroken,Rota,maybe\n",
        "survey_code,position,kind,text_es,text_en\n"
        "after_visit,1,stars,¿Puntualidad?,Punctuality?\n"
        "after_visit,2,scale,¿Solución?,\n"
        "after_visit,3,scale,¿Trato?,Manners?\n"
        "after_visit,3,text,¿Algo más?,Anything else?\n"
        "nope,1,scale,¿?,?\n",
    )

    result = import_directory(db, folder)

    assert [str(e) for e in result.errors] == [
        "surveys.csv:3: active: 'maybe' is not one of yes, no",
        "survey_questions.csv:2: kind: 'stars' is not one of scale, text",
        "survey_questions.csv:3: text_en: is required",
        "survey_questions.csv:5: position: repeats line 4",
        "survey_questions.csv:6: survey_code: 'nope' is neither in surveys.csv "
        "nor in the database",
    ]
    assert db.scalars(select(Survey)).all() == []
