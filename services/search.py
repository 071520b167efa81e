"""The search box in SQL: a fragment parsed by ``rules.search``, matched in the full-text
index (``services.search_index``), ranked so that exact number and phone hits come first.

The predicate is ``complaint.id IN (SELECT … FROM complaint_search WHERE … MATCH …)``:
the caller still applies the actor's scope (``services.queries.scope_clause``) and its
order, so results never leave the scope, and a list page keeps its fixed statements.
"""

from __future__ import annotations

from sqlalchemy import (
    Integer,
    and_,
    case,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import literal as sql_literal
from sqlalchemy.dialects.postgresql import TSQUERY

from models import Complaint, db
from rules import search as rules_search
from rules.admin_events import CONTACT_SEARCHED, cut

from .search_index import TABLE, segment

_TOP = "\U0010ffff"  # sorts after every character: [term, term+_TOP) is "starts with term"


def parse(text: str | None) -> rules_search.SearchQuery | None:
    return rules_search.parse(text, segment)


def fts5_match(node) -> str:
    """The query tree as an FTS5 MATCH string (terms are letters, digits and ``_``)."""
    if isinstance(node, rules_search.Term):
        return f'"{node.token}"'
    if isinstance(node, rules_search.Prefix):
        return f'"{node.token}"*'
    joiner = " AND " if isinstance(node, rules_search.All) else " OR "
    return "(" + joiner.join(fts5_match(item) for item in node.items) + ")"


def tsquery(node) -> str:
    """The query tree as ``tsquery`` input (lexemes quoted, verbatim)."""
    if isinstance(node, rules_search.Term):
        return f"'{node.token}'"
    if isinstance(node, rules_search.Prefix):
        return f"'{node.token}':*"
    joiner = " & " if isinstance(node, rules_search.All) else " | "
    return "(" + joiner.join(tsquery(item) for item in node.items) + ")"


def _matching_ids(node):
    if db.engine.dialect.name == "postgresql":
        index = table(TABLE, column("complaint_id", Integer), column("terms"))
        query = sql_cast(sql_literal(tsquery(node)), TSQUERY)
        return select(index.c.complaint_id).where(index.c.terms.op("@@")(query))
    index = table(TABLE, column("rowid", Integer))
    return select(index.c.rowid).where(
        literal_column(TABLE).op("MATCH")(sql_literal(fts5_match(node))))


def search_clause(text: str | None, parsed=None):
    """One predicate for the search box, or None when the box is empty (no filter).

    - ``TS-2026…`` → complaint numbers starting so (B-tree range on the unique index);
    - digits → a number tail (3+ digits) or a phone's last 4+ digits / the full phone;
    - an e-mail address → that address;
    - words → each part is a part of the customer's name or words of the texts.
    Only punctuation (``%``, ``_``, quotes) matches nothing.
    """
    q = parsed if parsed is not None else parse(text)
    if q is None:
        return None
    if q.empty:
        return false()
    if q.number_prefix is not None:
        return and_(Complaint.number >= q.number_prefix, Complaint.number < q.number_prefix + _TOP)
    if q.match is None:
        return false()
    ids = _matching_ids(q.match)
    if db.engine.dialect.name == "sqlite" and _dense(ids):
        # Many hits (a common word): walk the list's order index and probe the hits (an
        # expression on id keeps SQLite from fetching and sorting every hit instead).
        return (Complaint.id + 0).in_(ids)
    return Complaint.id.in_(ids)


DENSE = 2000  # hits from which SQLite reads the list in its order and probes (bench/)


def _dense(ids) -> bool:
    """Whether the index holds more than DENSE hits (one bounded, index-only statement).

    PostgreSQL decides this itself from the GIN index's statistics; SQLite's planner knows
    nothing of an FTS5 query's selectivity: fetching every hit and sorting is fast for a
    few hundred, the order index probed against the hits for many.
    """
    probe = select(func.count()).select_from(ids.limit(DENSE + 1).subquery())
    return db.session.scalar(probe) > DENSE


def rank(parsed):
    """An ORDER BY term putting exact number / phone hits first, or None."""
    if parsed is None:
        return None
    exact = []
    if parsed.exact_number:
        exact.append(Complaint.number == parsed.exact_number)
    if parsed.exact_phone:
        exact.append(Complaint.customer_phone_norm == parsed.exact_phone)
    if not exact:
        return None
    return case((or_(*exact), 0), else_=1)


def log_contact_search(actor, text: str | None) -> None:
    """A masked role's contact search: one AdminEvent, the number itself masked."""
    from rules.intake import mask_email, mask_phone
    from rules.search import clean

    from .admin_events import record_now

    term = clean(text)
    shown = mask_email(term) if "@" in term else mask_phone(term)
    record_now(CONTACT_SEARCHED, actor_id=actor.id, detail=cut(f"search: {shown}"))


__all__ = ["fts5_match", "log_contact_search", "parse", "rank",
           "search_clause", "tsquery"]
