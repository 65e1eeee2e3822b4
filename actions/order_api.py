"""The CRM's order routes, asked for the conversation's speaker.

The CRM decides who may see what: 403 when the speaker is not a shop, 404
for an order that does not exist or is another shop's (the same answer).
"""

from typing import Any
from urllib.parse import quote

from rasa_sdk import Tracker

from actions import warranty_form
from actions.crm_client import CrmError, CrmUnavailableError, conversation_path


class OrderNotFoundError(Exception):
    """No order of the speaker's shop has this number."""


class NotAShopError(Exception):
    """The speaker has not been identified as shop staff."""


class CrmDownError(Exception):
    """The CRM could not answer."""


class CaseRefusedError(Exception):
    """The CRM refused the case (an impossible quantity, an unknown line…)."""


def _base(tracker: Tracker, number: str) -> str:
    conversation = conversation_path(tracker.sender_id)
    return f"{conversation}/orders/{quote(str(number), safe='')}"


async def _call(
    method: str, path: str, json: dict[str, Any] | None = None
) -> dict[str, Any]:
    # Looked up on each call: the tests swap the shared client.
    try:
        return await warranty_form.crm.request(method, path, json=json)
    except CrmError as error:
        if error.status == 404:
            raise OrderNotFoundError(path) from error
        if error.status == 403:
            raise NotAShopError(path) from error
        if error.status == 422:
            raise CaseRefusedError(str(error.detail)) from error
        raise CrmDownError(str(error)) from error
    except CrmUnavailableError as error:
        raise CrmDownError(str(error)) from error


async def read_order(tracker: Tracker, number: str) -> dict[str, Any]:
    """The order with its lines, shipments and divergences."""
    return await _call("GET", _base(tracker, number))


async def check_discounts(tracker: Tracker, number: str) -> dict[str, Any]:
    """The order's lines whose discount exceeds the shop's conditions."""
    return await _call("GET", f"{_base(tracker, number)}/discounts")


async def open_case(
    tracker: Tracker, number: str, path: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Opens (or finds again) a case: divergences, discount-case, delivery-problems.

    ``existing`` is added: True when the case was opened before, in another
    conversation (the CRM returns an open case instead of a second one).
    """
    case = await _call("POST", f"{_base(tracker, number)}/{path}", json=payload)
    return {**case, "existing": case.get("conversation_id") != tracker.sender_id}


def _display_base(tracker: Tracker, number: str) -> str:
    request = quote(str(number), safe="")
    return f"{conversation_path(tracker.sender_id)}/display/requests/{request}"


async def read_display_request(tracker: Tracker, number: str) -> dict[str, Any]:
    """The shop's display-unit request (DSP-…), for a transport problem."""
    return await _call("GET", _display_base(tracker, number))


async def report_display_problem(
    tracker: Tracker, number: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Opens a damage or delay case on a display-unit request."""
    path = f"{_display_base(tracker, number)}/delivery-problems"
    case = await _call("POST", path, json=payload)
    return {**case, "existing": case.get("conversation_id") != tracker.sender_id}


async def report_customer_problem(
    tracker: Tracker, payload: dict[str, Any]
) -> dict[str, Any]:
    """Opens a damage or delay case for an end customer's delivery."""
    path = f"{conversation_path(tracker.sender_id)}/delivery-problems"
    case = await _call("POST", path, json=payload)
    return {**case, "existing": case.get("conversation_id") != tracker.sender_id}


def idempotency_key(tracker: Tracker, kind: str, suffix: str = "") -> str:
    """Names one request: the conversation, the kind of case and when the
    form started, so a retried action never opens a second case."""
    started = "none"
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            started = f"{event.get('timestamp', 0):.6f}"
            break
    return f"{tracker.sender_id}:{kind}:{started}:{suffix}"
