"""iQS: questionnaires defined as data, invitations after a case, the answers."""

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_bridge.models.core import Base, Ticket, enum_column


class QuestionKind(str, enum.Enum):
    SCALE = "scale"  # a score from 1 to 5
    TEXT = "text"  # free text


class Survey(Base):
    __tablename__ = "surveys"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)

    questions: Mapped[list["SurveyQuestion"]] = relationship(
        back_populates="survey",
        cascade="all, delete-orphan",
        order_by="SurveyQuestion.position",
    )


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("survey_code", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_code: Mapped[str] = mapped_column(
        ForeignKey("surveys.code", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[QuestionKind] = mapped_column(
        enum_column(QuestionKind, "question_kind")
    )
    text_es: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)

    survey: Mapped[Survey] = relationship(back_populates="questions")

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_es


class InvitationStatus(str, enum.Enum):
    PENDING = "pending"  # written, not sent yet
    SENT = "sent"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DECLINED = "declined"
    FAILED = "failed"  # the channel could not deliver it


class SurveyInvitation(Base):
    """One invitation to answer a survey about one case, on the case's channel."""

    __tablename__ = "survey_invitations"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    survey_code: Mapped[str] = mapped_column(ForeignKey("surveys.code"))
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus, "invitation_status")
    )
    error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    ticket: Mapped[Ticket] = relationship()
    survey: Mapped[Survey] = relationship()
    answers: Mapped[list["SurveyAnswer"]] = relationship(
        back_populates="invitation",
        cascade="all, delete-orphan",
        order_by="SurveyAnswer.id",
    )


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("invitation_id", "question_id"),
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"))
    score: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    invitation: Mapped[SurveyInvitation] = relationship(back_populates="answers")
    question: Mapped[SurveyQuestion] = relationship()
