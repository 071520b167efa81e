"""How sending one message failed: worth another try later, or not."""


class Transient(Exception):
    """The server is down, busy or refused for now (SMTP 4xx, HTTP 429/5xx, timeouts)."""


class Permanent(Exception):
    """Another try cannot help (a bad address, SMTP 5xx for the recipient, HTTP 4xx)."""


class Unreachable(Transient):
    """The server could not be reached at all (connection refused, no such host, or the
    channel is switched off): nothing was sent. The try is not counted, and the worker
    leaves the rest of its batch for that server alone until the next pass."""
