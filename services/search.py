"""The search box in SQL: a fragment parsed by ``rules.search``, matched in the full-text
index (``services.search_index``), ranked so that exact number and phone hits come first.

The index is asked first how many hits (up to WALK + 1): up to DENSE, the predicate is
``complaint.id IN (<those ids>)``; else ``complaint.id IN (SELECT … FROM complaint_search
WHERE … MATCH …)``, past WALK read in the list's order. The caller still applies
the actor's scope (``services.queries.scope_clause``) and its order, so results never
leave the scope, and a list page keeps its fixed statements (one more for the search).
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
    true,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import literal as sql_literal
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY

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
    db.session.info.pop(HIT_COUNT, None)
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
    count, hits = _first_hits(ids)
    db.session.info[HIT_COUNT] = count  # exact up to WALK, else WALK + 1 (hit_count)
    if hits is not None:
        # Few hits (a phone, a number tail, a name, a rare word): all known now, fetched
        # by primary key and sorted. Neither planner can guess an index query's hits.
        if not hits:
            return false()
        if db.engine.dialect.name == "postgresql":
            return Complaint.id == func.any(sql_literal(hits, ARRAY(Integer)))
        return Complaint.id.in_(hits)
    if count <= WALK:
        # Some thousands: still fetched by primary key and sorted (the list's capped count
        # too: it stops at its cap), not the order index walked far for a page.
        return Complaint.id.in_(ids)
    # Many hits (a common word): walk the list's order index and probe each row in the
    # index, a page found after a few hundred rows whatever the size of the table.
    if db.engine.dialect.name == "sqlite":
        # an expression on id keeps SQLite from fetching and sorting every hit instead
        return (Complaint.id + 0).in_(ids)
    _sorting_off()
    return Complaint.id.in_(ids)


HIT_COUNT = "search_hit_count"


def hit_count() -> int | None:
    """The number of index hits of the last :func:`search_clause` (exact up to WALK; past
    it WALK + 1), or None when it searched no index (a number prefix, nothing to find)."""
    return db.session.info.pop(HIT_COUNT, None)


DENSE = 2000  # up to so many hits, the list gets their ids (bench/)
WALK = 20000  # past so many, the list is read in its order and the hits probed (bench/)


def _first_hits(ids) -> tuple[int, list[int] | None]:
    """The number of hits, counted up to WALK + 1, and the hits themselves when at most
    DENSE (WALK on PostgreSQL; else None): from the index alone, in one row (an array or
    a list of numbers: thousands of rows would cost more in Python than in the database)."""
    first = ids.limit(WALK + 1).subquery()
    key = first.c[0]
    postgresql = db.engine.dialect.name == "postgresql"
    gathered = func.array_agg(key) if postgresql else func.group_concat(key)
    # PostgreSQL takes up to WALK ids as one array parameter (its own plan for some
    # thousands of hits is to walk the order index with parallel workers: 4.7× at 1M)
    known = WALK if postgresql else DENSE
    count, found = db.session.execute(select(
        func.count(), case((func.count() <= known, gathered), else_=None))).one()
    if count > known:
        return count, None
    if postgresql:
        return count, found or []
    return count, [int(n) for n in found.split(",")] if found else []


def _sorting_off() -> None:
    """PostgreSQL, many hits: sorting off in the transaction (``set_config(…, true)``:
    SET LOCAL) so that the planner walks the list's order index; the list turns it on
    again after its statement (:func:`sorting_back_on`).

    Its estimate of an index query's hits is no use for choosing: it multiplies the
    frequencies of the terms as if independent, so two words of one sentence, or the
    bigrams of one word ("未更" & "更新"), are taken for a few hundred hits when they are
    one complaint in eight, and every hit was fetched and sorted (2.6× the plain list at
    100k, 3.7× at 1M); and a rare word or a phone tail is taken for many, the order index
    walked to its end for nothing (17× at 1M). The count of the hits above is exact.
    The capped count in the list's statement keeps its plan (it sorts nothing).
    """
    db.session.execute(select(func.set_config("enable_sort", "off", true())))
    db.session.info["search_sorting_off"] = True


def sorting_back_on() -> None:
    """After the list's statement: sorting on again for the rest of the request's
    transaction (PostgreSQL, after a search with many hits, :func:`_sorting_off`), else
    every small ``ORDER BY`` after it would be planned at a huge cost (parallel workers)."""
    if db.session.info.pop("search_sorting_off", False):
        db.session.execute(select(func.set_config("enable_sort", "on", true())))


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
           "search_clause", "sorting_back_on", "tsquery"]
