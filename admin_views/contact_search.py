"""A contact search by a role whose customer contacts are masked (issue 10), with the
number in no URL: not in browser history, proxy or server logs, nor a Referer.

The search box of such a role (navbar and list) is a POST form with CSRF to
``/admin/complaint/search/``. A contact term (a phone number, an e-mail address:
``rules.search.is_contact_like``) is kept in the user's session under a short random key,
logged once (AdminEvent ``contact_searched``, the number masked), and the browser is sent
to ``…/complaint/?contact=<key>``; any other term goes to the ordinary ``?search=`` list.
The list, its page / sort / filter links and its export resolve the key; a key unknown to
this session (expired, forged, another user's) finds nothing, with a message.

Flask's session is a signed cookie, not an encrypted one: the term is encrypted before it
is put there (Fernet from the ``cryptography`` package, with a key derived by HKDF from
the app's secret key and the user), so the cookie does not show the number either.
At most :data:`KEPT` searches are kept, each for :data:`LIFETIME_SECONDS`.
"""

from __future__ import annotations

import base64
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, flash, g, redirect, request, session
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from rules.intake import mask_email, mask_phone
from rules.search import clean, is_contact_like
from services import clock
from services import search as search_service

from .auth import PlainForm
from .privacy import contacts_visible

SESSION_KEY = "contact_searches"
KEPT = 3  # searches kept per session (the oldest is forgotten)
LIFETIME_SECONDS = 2 * 3600  # a key older than this finds nothing
KEY_BYTES = 6  # 8 URL-safe characters
FERNET = "f1"  # how the term is sealed in the session (Fernet, below)
MISSING = "contact:missing"  # the list's search text when the key is unknown
# What the list's search form carries over to the list it redirects to.
_CARRIED = ("sort", "desc", "page_size", "queue")


def masked_term(term: str | None) -> str:
    """The contact as a masked role may read it (``138****5678``, ``w***@example.com``)."""
    term = clean(term)
    if not term:
        return ""
    return mask_email(term) if "@" in term else mask_phone(term)


def _fernet() -> Fernet:
    """Authenticated encryption (the ``cryptography`` package's Fernet) with a key derived
    from the app's secret key for this purpose and this user."""
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    who = str(getattr(current_user, "id", "")).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"complaint-desk contact-search|" + who).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def _seal(term: str) -> tuple[str, str]:
    return FERNET, _fernet().encrypt(term.encode()).decode()


def _open(scheme: str, sealed: str) -> str | None:
    if scheme != FERNET or not isinstance(sealed, str):
        return None
    try:
        return _fernet().decrypt(sealed.encode(), ttl=LIFETIME_SECONDS).decode()
    except (InvalidToken, ValueError, UnicodeDecodeError):
        return None


def _stamp() -> float:
    """Seconds of the company clock (services.clock), to age the kept searches."""
    return clock.now().timestamp()


def _entries() -> list:
    """This session's searches still fresh, for the signed-in user: [key, scheme, sealed,
    stamp, user id] each."""
    now = _stamp()
    uid = getattr(current_user, "id", None)
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, list):
        return []
    return [e for e in kept
            if isinstance(e, list) and len(e) == 5 and isinstance(e[0], str)
            and isinstance(e[3], (int, float)) and now - e[3] < LIFETIME_SECONDS
            and e[4] == uid]


def remember(term: str) -> str:
    """Keep ``term`` in the session; its key (for ``?contact=``)."""
    key = secrets.token_urlsafe(KEY_BYTES)
    scheme, sealed = _seal(term)
    kept = _entries()[-(KEPT - 1):] if KEPT > 1 else []
    kept.append([key, scheme, sealed, _stamp(), getattr(current_user, "id", None)])
    session[SESSION_KEY] = kept
    return key


def recall(key: str | None) -> str | None:
    """The term kept under ``key`` in this session, or None (unknown, expired, forged)."""
    if not key or not isinstance(key, str):
        return None
    for entry in _entries():
        if hmac.compare_digest(entry[0].encode(), key.encode()):
            return _open(entry[1], entry[2])
    return None


def searches_by_post() -> bool:
    """Whether the current user's search box posts (contacts masked for the role)."""
    return current_user.is_authenticated and not contacts_visible()


class ContactSearchMixin:
    """The ``search/`` endpoint of the complaint list (mixed into ComplaintView)."""

    def search_by_post(self) -> bool:
        return searches_by_post()

    @expose("/search/", methods=("POST",))
    def search_view(self):
        form = PlainForm(request.form)
        carried = {k: v for k, v in request.form.items()
                   if (k in _CARRIED or k.startswith("flt")) and v}
        if not form.validate():
            flash(_("The search was not sent: the page had expired. Please search again."),
                  "error")
            return redirect(self.get_url(".index_view"))
        term = clean(request.form.get("search"))
        if not term:
            return redirect(self.get_url(".index_view", **carried))
        if searches_by_post() and is_contact_like(term):
            key = remember(term)
            search_service.log_contact_search(current_user, term)  # once, not per page
            return redirect(self.get_url(".index_view", contact=key, **carried))
        return redirect(self.get_url(".index_view", search=term, **carried))

    def _resolve_contact(self, args):
        """The list's arguments with ``?contact=<key>`` resolved (index and export)."""
        key = args.extra_args.get("contact")
        if key is not None:
            g.hide_search = True
            g.contact_key = key
            term = recall(key)
            if term is None:
                g.contact_missing = True
                return args.clone(search=MISSING)  # searched, hidden, finds nothing
            g.contact_shown = masked_term(term)
            return args.clone(search=term)
        if args.search and searches_by_post() and is_contact_like(args.search):
            # A phone or e-mail in the address (an old link or bookmark): not searched,
            # not echoed; the box posts it instead.
            g.hide_search = True
            g.contact_by_get = True
        return args

    def export_session(self) -> dict:
        """The export job has no browser session: it gets the kept search of this list's
        ``?contact=<key>`` (the term still sealed, never in clear in the job's row)."""
        key = request.args.get("contact")
        kept = [e for e in _entries() if key and e[0] == key]
        return {SESSION_KEY: kept} if kept else {}

    def contact_search_note(self):
        """A message for the list (flashed once per list page), or None."""
        if g.get("contact_missing"):
            return _("This contact search has expired or belongs to another session: "
                     "nothing is shown. Please search again."), "error"
        if g.get("contact_by_get"):
            return _("A phone number or e-mail is searched from the search box, not from "
                     "the page's address: nothing is shown. Please search again."), "error"
        return None

    def flash_contact_note(self) -> None:
        if g.get("contact_note_flashed") or request.endpoint != f"{self.endpoint}.index_view":
            return
        note = self.contact_search_note()
        if g.get("contact_key") and not g.get("contact_missing"):
            note = (_("Showing the complaints of the contact you searched for "
                      "(the number is not shown)."), "info")
        if note:
            g.contact_note_flashed = True
            flash(*note)
