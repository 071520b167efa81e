"""category default department (issue 11): forwarding suggests the department from the category

Revision ID: 6071829304a5
Revises: 5f6071829304
Create Date: 2026-11-30 13:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6071829304a5'
down_revision = '5f6071829304'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE on both databases: a batch copy of the category table would have
    # to drop a table that complaint.category_id points at.
    if op.get_bind().dialect.name == 'sqlite':  # an inline REFERENCES is what SQLite can add
        op.execute('ALTER TABLE category ADD COLUMN default_department_id INTEGER '
                   'CONSTRAINT fk_category_default_department_id_department '
                   'REFERENCES department (id)')
    else:
        op.add_column('category', sa.Column('default_department_id', sa.Integer(),
                                            nullable=True))
        op.create_foreign_key(op.f('fk_category_default_department_id_department'),
                              'category', 'department', ['default_department_id'], ['id'])


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_category_default_department_id_department'), 'category',
                           type_='foreignkey')
    with op.batch_alter_table('category', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('default_department_id')
