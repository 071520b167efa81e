"""search_index (issue 10): the full-text index of complaints

SQLite: an FTS5 virtual table (rowid = complaint id); PostgreSQL: a table with a tsvector
and a GIN index. Maintained by services/search_index.py (not mapped: migrations/env.py
keeps it out of autogenerate); filled here from the existing complaints.

Revision ID: 2c3d4e5f6071
Revises: 1b2c3d4e5f60
Create Date: 2026-11-30 11:20:00.000000
"""
from alembic import op
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '2c3d4e5f6071'
down_revision = '1b2c3d4e5f60'
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("CREATE TABLE complaint_search ("
                   "complaint_id INTEGER PRIMARY KEY REFERENCES complaint (id), "
                   "terms TSVECTOR NOT NULL)")
        op.execute("CREATE INDEX ix_complaint_search_terms ON complaint_search "
                   "USING gin (terms)")
    else:
        # Letters and digits of any script are token characters, and "_" (the kinds'
        # prefixes n_/t_/p_/e_); terms arrive lower-cased and segmented already.
        op.execute("CREATE VIRTUAL TABLE complaint_search USING fts5("
                   "terms, tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")")
    if conn.execute(sa.text("SELECT 1 FROM complaint LIMIT 1")).first() is not None:
        from services.search_index import rebuild

        rebuild(conn, batch=5000)  # batch by batch: memory flat whatever the table's size


def downgrade():
    op.execute("DROP TABLE complaint_search")
