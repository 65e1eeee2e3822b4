"""Domain errors of the CRM. The HTTP routes turn them into status codes."""


class CrmError(Exception):
    """Base class of every error the CRM services raise on purpose."""


class InvalidValueError(CrmError, ValueError):
    """A value the CRM cannot accept, e.g. a malformed phone or postal code."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {value!r} {reason}")


class UnitNotFoundError(CrmError):
    def __init__(self, serial_number: str) -> None:
        self.serial_number = serial_number
        super().__init__(f"unit {serial_number!r} not found")


class CategoryNotFoundError(CrmError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"product category {code!r} not found")


class TicketNotFoundError(CrmError):
    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"ticket {number!r} not found")


class TicketRejectedError(CrmError):
    """A ticket request that is well formed but cannot be opened as asked."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class NotAShopError(CrmError):
    """A shop-only request from someone not identified as shop staff."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__("identify as a shop first")


class RegistrationCodeRejectedError(CrmError):
    """A registration code that matches no shop; says nothing about which."""

    def __init__(self, attempts_left: int) -> None:
        self.attempts_left = attempts_left
        super().__init__("registration code not recognised")


class TooManyAttemptsError(CrmError):
    """Too many wrong registration codes in one conversation."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__("too many wrong registration codes in this conversation")
