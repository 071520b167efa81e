"""Drop two indexes on complaint that no query of the app uses (issue 13): every complaint
by due time (ix_complaint_due) and a handler's complaints by due time
(ix_complaint_assignee_due, whose lookups ix_complaint_assignee_status_due covers).
bench/index_use.py prints which queries use each index; fewer indexes make every write
of a complaint cheaper (on PostgreSQL the sweep's update writes an entry in each).

Revision ID: a4b5c6d7e8f9
Revises: 93a4b5c6d7e8
Create Date: 2026-11-30 21:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4b5c6d7e8f9'
down_revision = '93a4b5c6d7e8'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_complaint_due', table_name='complaint')
    op.drop_index('ix_complaint_assignee_due', table_name='complaint')


def downgrade():
    op.create_index('ix_complaint_assignee_due', 'complaint', ['assignee_id', 'due_at'],
                    unique=False)
    op.create_index('ix_complaint_due', 'complaint', ['due_at'], unique=False)
