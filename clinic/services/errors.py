"""The error every rule raises when it refuses a request."""


class RuleViolation(ValueError):
    """A request the clinic's rules refuse. The message is shown to staff as it is.

    Messages never contain patient names or record numbers, because flashed messages
    travel in the session cookie.
    """
