"""attachments (issue 10): files kept on a complaint, retired but never deleted

Revision ID: 5f6071829304
Revises: 4e5f60718293
Create Date: 2026-11-30 11:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f6071829304'
down_revision = '4e5f60718293'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('callback_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage_key', sa.String(length=200), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('thumbnail_key', sa.String(length=200), nullable=True),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.Column('retired_at', sa.DateTime(), nullable=True),
        sa.Column('retired_by_id', sa.Integer(), nullable=True),
        sa.Column('retired_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['callback_id'], ['callback_record.id'],
                                name=op.f('fk_attachment_callback_id_callback_record')),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'],
                                name=op.f('fk_attachment_complaint_id_complaint')),
        sa.ForeignKeyConstraint(['event_id'], ['complaint_event.id'],
                                name=op.f('fk_attachment_event_id_complaint_event')),
        sa.ForeignKeyConstraint(['retired_by_id'], ['staff.id'],
                                name=op.f('fk_attachment_retired_by_id_staff')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['staff.id'],
                                name=op.f('fk_attachment_uploaded_by_id_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_complaint_id_id', ['complaint_id', 'id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index('ix_attachment_complaint_id_id')
    op.drop_table('attachment')
