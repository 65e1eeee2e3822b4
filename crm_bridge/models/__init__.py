"""The CRM data model, one module per area; everything is importable from here.

Portable between SQLite (local use, tests) and PostgreSQL (production). Business
rules that vary by product, shop or market (warranty terms, replacement rules,
guided checks, agreed discounts, the areas service centres cover, survey
questions) are rows, not code.
"""

from crm_bridge.models.core import *  # noqa: F403
from crm_bridge.models.core import __all__ as _core
from crm_bridge.models.console import (
    Agent,
    AgentRole,
    AgentSession,
    ConversationNote,
    Handoff,
    HandoffStatus,
)
from crm_bridge.models.display import (
    DisplayProduct,
    DisplayRequest,
    DisplayRequestLine,
    DisplayRequestStatus,
)
from crm_bridge.models.orders import (
    DiscountCondition,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
)
from crm_bridge.models.surveys import (
    InvitationStatus,
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
)

__all__ = [
    *_core,
    "Agent",
    "AgentRole",
    "AgentSession",
    "ConversationNote",
    "Handoff",
    "HandoffStatus",
    "DiscountCondition",
    "DisplayProduct",
    "DisplayRequest",
    "DisplayRequestLine",
    "DisplayRequestStatus",
    "InvitationStatus",
    "Order",
    "OrderLine",
    "OrderStatus",
    "QuestionKind",
    "Shipment",
    "Survey",
    "SurveyAnswer",
    "SurveyInvitation",
    "SurveyQuestion",
]
