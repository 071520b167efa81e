"""The one family of exceptions rules raise; ``str(err)`` is shown to the user.

Messages are English message ids marked with :func:`N_` so that the translation
catalogue picks them up; the screens translate ``err.msgid`` and fill in
``err.params`` (see ``admin_views.i18n.rule_message``).
"""


def N_(message: str) -> str:
    """Mark a message for translation without translating it (rules know no locale)."""
    return message


class RuleError(Exception):
    """A workflow rule refused the action; str(err) is the reason shown to the user."""

    # The input the refusal is about (the form field shown next to it), or None.
    field: str | None = None

    def __init__(self, msgid: str, **params):
        self.msgid = msgid
        self.params = params
        super().__init__(msgid % params if params else msgid)


class TransitionNotAllowed(RuleError):
    """The action is not possible from the complaint's current status."""


class NothingWaiting(TransitionNotAllowed):
    """Nothing waits for this step now (no extension asked, no plan to decide): the step
    is not *blocked*, there is just nothing to take it on; the screens list it with the
    steps of other stages, not as a greyed-out button."""


class PermissionDenied(RuleError):
    """This user's role or scope does not allow the action."""


class MissingInput(RuleError):
    """A field the action needs was left empty."""


class InvalidInput(RuleError):
    """A field holds a value the action cannot use."""


class InputErrors(InvalidInput):
    """Several inputs refused at once: ``errors`` holds each refusal (with its ``field``).

    Its own text is the first refusal's, so a screen that shows one message still says
    something true; the forms show every one next to its field.
    """

    def __init__(self, errors):
        self.errors = tuple(errors)
        first = self.errors[0]
        super().__init__(first.msgid, **first.params)


def about(field: str, err: RuleError) -> RuleError:
    """The refusal ``err``, marked as being about the input ``field``."""
    err.field = field
    return err


def refuse_all(errors) -> None:
    """Raise nothing for no refusal, the refusal itself for one, InputErrors for more."""
    errors = list(errors)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)


def each_error(err: RuleError) -> tuple[RuleError, ...]:
    """Every refusal inside ``err`` (itself unless it is an InputErrors)."""
    return getattr(err, "errors", None) or (err,)


class StaleVersion(RuleError):
    """Someone else changed the record since this user loaded it."""

    def __init__(self):
        super().__init__(
            N_(
                "This complaint was changed by someone else after you opened it. "
                "Nothing was saved: reload the page to see the current version, then try again."
            )
        )
