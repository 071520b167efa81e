"""The list's total, capped: "123 records", or "more than 10,000" past the cap (issue 11,
part 6) — never a full ``count(*)`` of a million-row table on every page view.

The count rides in the page's own SELECT as one uncorrelated scalar subquery (evaluated
once by SQLite and by PostgreSQL, an InitPlan there)::

    SELECT complaint.*, (SELECT count(*) FROM (SELECT id FROM complaint
                                              WHERE <scope, queue, search, filters>
                                              LIMIT 10001)) AS total
    FROM complaint WHERE <the same> ORDER BY … LIMIT 50 OFFSET …

so a list page sends as many statements as before. Only a page past the end (no row to
carry the number) counts on its own, the same capped way.

With a total at or under the cap the numbered pager is shown (and none for a single
page); past the cap, previous / next. The export and other ``execute=False`` callers get
Flask-Admin's behaviour unchanged.
"""

from __future__ import annotations

from flask import g
from sqlalchemy import func, select

#: Past this many rows the list says "more than 10,000" instead of counting on.
TOTAL_CAP = 10_000
#: A search that matches this many is too broad to page through: "more than 1,000" says
#: so, and counting no further keeps a common word's page near the plain list's time
#: (bench/bench_search.py at 1M).
SEARCH_TOTAL_CAP = 1_000


def _capped_count(query, key, cap: int):
    """``count(*)`` over ``SELECT <key> … LIMIT cap + 1`` of ``query`` (its scope, search and
    filters) without its order and page. The key (the primary key) keeps the FROM clause."""
    rows = query.limit(None).offset(None).order_by(None).with_entities(key).limit(cap + 1)
    return select(func.count()).select_from(rows.subquery()).scalar_subquery()


class ListTotalMixin:
    """For ``simple_list_pager`` views: a capped total in the page's own query."""

    total_cap = TOTAL_CAP

    def known_total(self, cap: int) -> int | None:
        """The total when the view knows it without counting — exactly, or as more than
        ``cap`` (else None: counted)."""
        return None

    def list_total_cap(self, search) -> int:
        """The cap of this list's total: lower for a search (SEARCH_TOTAL_CAP)."""
        return SEARCH_TOTAL_CAP if search else self.total_cap

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        count, query = super().get_list(page, sort_column, sort_desc, search, filters,
                                        execute=False, page_size=page_size)
        if not execute:
            return count, query
        if count is not None:  # the view counts exactly (not a simple_list_pager view)
            return count, query.all()
        cap = self.list_total_cap(search)
        known = self.known_total(cap)
        total = _capped_count(query, self.model.id, cap)
        if known is not None:  # counted already (a search's hits): not counted again
            data, found = query.all(), known
        else:
            rows = query.add_columns(total.label("desk_list_total")).all()
            data = [row[0] for row in rows]
            if rows:
                found = rows[0][1]
            elif not page:
                found = 0
            else:  # past the last page: nothing carried the number
                found = query.session.execute(select(total)).scalar()
        capped = found > cap
        g.desk_list_total = {"count": None if capped else found, "capped": capped, "cap": cap}
        return (None if capped else found), data
