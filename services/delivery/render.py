"""The text of every message sent outside the app: staff e-mails, robot posts, the daily
digest and the messages to customers, in the recipient's language.

Each function returns a :class:`Rendered` (subject, plain text, optional HTML) that the
planner stores on the Delivery row, so a message never changes between tries. The words
are translated here (gettext, under ``flask_babel.force_locale``); the templates under
``templates/mail/`` only lay them out: ``*.txt`` as they are, ``*.html`` through Jinja's
autoescaping. Needs an app context (config, translations, templates), no request.

What leaves the desk, and what never does:

- staff e-mails and robot posts carry the complaint's number, title, what happened,
  status, current deadline and a link; never the customer's name, phone or e-mail, and
  the title with any phone number or address typed into it masked (``mask_text``);
- subjects are one line: control characters (CR, LF, TAB, …) become spaces, so nothing
  a title holds can add a header (:func:`header_text`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from rules.delivery import CUSTOMER_ACK, CUSTOMER_RESULT
from rules.privacy import mask_text

from .. import labels
from ..labels import NOTIFICATION_KIND

SUBJECT_MAX = 200  # Delivery.subject holds 300
ROBOT_MAX_BYTES = 2000  # WeCom takes 2048 bytes of text, DingTalk more
DETAIL_ENDPOINT = "complaint.details_view"

# What happened (the in-app list's words), the status and the clock: one copy of each.
KIND, STATUS, CLOCK = NOTIFICATION_KIND, labels.STATUS, labels.CLOCK


@dataclass(frozen=True)
class Rendered:
    """One message's text: a one-line subject, the plain text, and HTML for e-mail."""

    subject: str
    body: str
    html: str | None = None


# --- helpers ------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def one_line(text: str | None) -> str:
    """``text`` on one line: every control or separator character (CR, LF, TAB, U+2028,
    zero-width and direction marks …) becomes a space, runs of spaces one space."""
    if not text:
        return ""
    chars = (" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    return _SPACES.sub(" ", "".join(chars)).strip()


def header_text(text: str | None, limit: int = SUBJECT_MAX) -> str:
    """A safe header value (a subject): one line, at most ``limit`` characters."""
    line = one_line(text)
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def _locale(locale: str | None) -> str:
    config = current_app.config
    return locale if locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def _when(value: datetime | date | None) -> str:
    """Company time as it is stored (naive local), the same in every language."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.strftime("%Y-%m-%d")


def _render(name: str, **context) -> str:
    return current_app.jinja_env.get_template(f"mail/{name}").render(**context)


def _line(label: str, value: str) -> str:
    return _("%(label)s: %(value)s", label=label, value=value)


def kind_label(kind: str) -> str:
    """What a notification of this kind says happened (translated)."""
    label = KIND.get(kind)
    return str(label) if label is not None else _("Update on a complaint")


def complaint_link(complaint_id: int | None) -> str | None:
    """The complaint's page as users reach it (``NOTIFY_BASE_URL`` + its detail path), or
    None when the base address is not set or there is no complaint."""
    base = current_app.config.get("NOTIFY_BASE_URL")
    if not base or complaint_id is None:
        return None
    path = current_app.url_map.bind("localhost").build(DETAIL_ENDPOINT, {"id": complaint_id})
    return base.rstrip("/") + path


def _deadline(complaint) -> str:
    if complaint.due_at is None:
        return _("none")
    text = _when(complaint.due_at)
    label = CLOCK.get(complaint.due_kind)
    if label is not None:
        text = _("%(when)s (%(what)s)", when=text, what=label)
    if complaint.overdue_since is not None:
        text = _("%(deadline)s, missed", deadline=text)
    return text


def _facts(complaint) -> list[dict]:
    """The lines about a complaint that staff messages show (label, value and the two as
    one text line): no customer contact data."""
    if complaint is None:
        return []
    status = STATUS.get(complaint.status)
    pairs = [(_("Number"), complaint.number),
             (_("Title"), one_line(mask_text(complaint.title))),
             (_("Status"), str(status) if status is not None else complaint.status),
             (_("Deadline"), _deadline(complaint))]
    department = getattr(complaint, "department", None)
    if department is not None:
        pairs.append((_("Department"), one_line(department.name)))
    return [{"label": label, "value": value, "line": _line(label, value)}
            for label, value in pairs]


def _subject(headline: str, complaint) -> str:
    if complaint is None:
        return header_text(_line(_("Complaint desk"), headline))
    return header_text(_("[%(number)s] %(what)s: %(title)s", number=complaint.number,
                         what=headline, title=mask_text(complaint.title)))


def _fit_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit - 3].decode("utf-8", "ignore") + "…"


# --- staff ----------------------------------------------------------------------------------


def notification_message(kind, complaint, recipient, *, locale) -> Rendered:
    """The e-mail telling ``recipient`` (a Staff) of one notification on ``complaint``."""
    with force_locale(_locale(locale)):
        headline = kind_label(kind)
        name = one_line(getattr(recipient, "full_name", None))
        link = complaint_link(getattr(complaint, "id", None))
        m = {"greeting": _("Hello %(name)s,", name=name) if name else _("Hello,"),
             "headline": headline,
             "facts": _facts(complaint),
             "link": link,
             "link_line": _line(_("Open the complaint"), link) if link else "",
             "open_label": _("Open the complaint"),
             "footer": _("Sent by the complaint desk. Choose what reaches you by e-mail "
                         "under \"My notification settings\".")}
        return Rendered(subject=_subject(headline, complaint),
                        body=_render("staff.txt", m=m), html=_render("staff.html", m=m))


def robot_message(kind, complaint, department, *, locale) -> Rendered:
    """The post to ``department``'s group robot (plain text, nobody's contact data)."""
    with force_locale(_locale(locale)):
        headline = kind_label(kind)
        m = {"app": _("Complaint desk"), "headline": headline, "facts": _facts(complaint),
             "link": complaint_link(getattr(complaint, "id", None))}
        body = _fit_bytes(_render("robot.txt", m=m).strip(), ROBOT_MAX_BYTES)
        return Rendered(subject=_subject(headline, complaint), body=body)


def digest_message(recipient, items, *, locale, day) -> Rendered:
    """The daily digest: ``items`` is [(Notification, Complaint or None)], oldest first."""
    with force_locale(_locale(locale)):
        name = one_line(getattr(recipient, "full_name", None))
        entries = []
        for notification, complaint in items:
            entries.append({"when": _when(notification.created_at),
                            "headline": kind_label(notification.kind),
                            "facts": _facts(complaint),
                            "link": complaint_link(getattr(complaint, "id", None))})
        m = {"greeting": _("Hello %(name)s,", name=name) if name else _("Hello,"),
             "intro": _("What arrived for you since the last digest (%(count)d):",
                        count=len(entries)),
             "entries": entries,
             "open_label": _("Open the complaint"),
             "footer": _("Sent by the complaint desk once a day. Turn the digest off under "
                         "\"My notification settings\".")}
        subject = _("Complaint desk: your notifications of %(day)s (%(count)d)",
                    day=_when(day), count=len(entries))
        return Rendered(subject=header_text(subject), body=_render("digest.txt", m=m),
                        html=_render("digest.html", m=m))


# --- customers ------------------------------------------------------------------------------


def _contact() -> str:
    contact = one_line(current_app.config.get("CUSTOMER_SERVICE_CONTACT"))
    if contact:
        return _("Customer service: %(contact)s. Please quote your complaint number.",
                 contact=contact)
    return _("To reach customer service, reply to this message and quote your complaint "
             "number.")


def customer_message(purpose, complaint, *, locale, deadline) -> Rendered:
    """The acknowledgement (``customer_ack``: number, what happens next, the answer's
    deadline) or the result (``customer_result``: the resolution, how to reach customer
    service) for the customer of ``complaint``. The body is short plain text that also
    suits an SMS; no staff names, no internal notes."""
    if purpose not in (CUSTOMER_ACK, CUSTOMER_RESULT):
        raise ValueError(f"unknown customer message {purpose!r}")
    with force_locale(_locale(locale)):
        name = one_line(complaint.customer_name)
        m = {"greeting": _("Dear %(name)s,", name=name) if name else _("Dear customer,"),
             "number": complaint.number, "contact": _contact(),
             "signature": _("Customer service")}
        received = _when(complaint.received_at)
        if purpose == CUSTOMER_ACK:
            subject = _("We have received your complaint (%(number)s)",
                        number=complaint.number)
            m["lines"] = [
                _("We received your complaint on %(received)s. Its number is %(number)s.",
                  received=received, number=complaint.number),
                _("What happens next: customer service checks it and passes it to the "
                  "department responsible, which looks into it and works out a solution."),
                _("We will answer you by %(deadline)s.", deadline=_when(deadline))
                if deadline else _("We will answer you as soon as possible."),
            ]
        else:
            subject = _("Your complaint %(number)s is closed", number=complaint.number)
            resolution = (complaint.resolution or "").strip()
            m["lines"] = [
                _("Your complaint %(number)s of %(received)s has been dealt with and is "
                  "now closed.", number=complaint.number, received=received),
            ]
            if resolution:
                m["result_label"] = _("Result:")
                m["result"] = resolution
        return Rendered(subject=header_text(subject), body=_render("customer.txt", m=m),
                        html=_render("customer.html", m=m))
