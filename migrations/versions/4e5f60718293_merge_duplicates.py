"""merge_duplicates (issue 10): complaint.merged_into_id, a duplicate's master

Revision ID: 4e5f60718293
Revises: 3d4e5f607182
Create Date: 2026-11-30 11:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '4e5f60718293'
down_revision = '3d4e5f607182'
branch_labels = None
depends_on = None

FK = 'fk_complaint_merged_into_id_complaint'


def upgrade():
    # Plain ALTER TABLE on both databases (a batch copy of the complaint table would meet
    # its append-only triggers and the foreign keys pointing at it); on SQLite an inline
    # REFERENCES is the one constraint ALTER TABLE can add. Nullable, no default: instant
    # on a million rows on both.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE complaint ADD COLUMN merged_into_id INTEGER '
                   f'CONSTRAINT {FK} REFERENCES complaint (id)')
    else:
        op.add_column('complaint', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key(FK, 'complaint', 'complaint', ['merged_into_id'], ['id'])
    op.create_index(op.f('ix_complaint_merged_into_id'), 'complaint', ['merged_into_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_complaint_merged_into_id'), table_name='complaint')
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('complaint', schema=None, recreate='never') as batch_op:
            batch_op.drop_column('merged_into_id')
    else:
        op.drop_constraint(FK, 'complaint', type_='foreignkey')
        op.drop_column('complaint', 'merged_into_id')
