"""customers: the customer file (顾客档案), built from the existing complaints

Revision ID: 3d4e5f607182
Revises: 2c3d4e5f6071
Create Date: 2026-11-30 11:20:00.000000

- ``customer``: one row per key (rules.customers.customer_key: the normalised phone, else
  the e-mail trimmed and ASCII-lower-cased), with the name, class and contact of the
  customer's latest complaint.
- ``complaint.customer_id``: nullable, indexed, a foreign key to it.

Both are filled set-based (one INSERT … SELECT with a window function, one UPDATE … FROM),
so the migration runs in a few statements whatever the number of complaints (SQLite 3.33+,
PostgreSQL). Complaints anonymised by retention (no phone, no e-mail left) get no customer.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d4e5f607182'
down_revision = '2c3d4e5f6071'
branch_labels = None
depends_on = None

_UPPER, _LOWER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'


def _key_sql(dialect: str) -> str:
    """rules.customers.customer_key in SQL, over complaint columns (customer_phone_norm is
    normalize_phone(customer_phone), written by the services)."""
    # SQLite's lower() folds ASCII letters only; PostgreSQL's follows the locale: translate.
    email = ("lower(trim(customer_email))" if dialect == 'sqlite'
             else f"translate(trim(customer_email), '{_UPPER}', '{_LOWER}')")
    return ("CASE WHEN customer_phone IS NOT NULL AND customer_phone_norm IS NOT NULL "
            "AND customer_phone_norm <> '' AND customer_phone_norm NOT LIKE 'anon-%' "
            "THEN customer_phone_norm "
            f"WHEN customer_email IS NOT NULL AND trim(customer_email) <> '' THEN {email} END")


def upgrade():
    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('customer_class', sa.String(length=1), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    sa.UniqueConstraint('key', name=op.f('uq_customer_key'))
    )
    # complaint: plain ALTER TABLE on both databases (a batch copy of the table would meet
    # its append-only triggers and the foreign keys pointing at it).
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':  # an inline REFERENCES is the one constraint SQLite can add
        op.execute('ALTER TABLE complaint ADD COLUMN customer_id INTEGER '
                   'CONSTRAINT fk_complaint_customer_id_customer REFERENCES customer (id)')
    else:
        op.add_column('complaint', sa.Column('customer_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_complaint_customer_id_customer', 'complaint', 'customer',
                              ['customer_id'], ['id'])

    build_customers(op.get_bind())
    op.create_index(op.f('ix_complaint_customer_id'), 'complaint', ['customer_id'],
                    unique=False)


def build_customers(bind) -> None:
    """Make the customers of the complaints not linked yet and link them: two set-based
    statements (bench/bench_customers.py times them on a filled database)."""
    key = _key_sql(bind.dialect.name)
    # The newest complaint of each key gives the name, class and contact.
    bind.execute(sa.text(f"""
        INSERT INTO customer (key, name, customer_class, phone, email, created_at, updated_at)
        SELECT k, customer_name, customer_class, customer_phone, customer_email,
               first_at, last_at
        FROM (SELECT k, customer_name, customer_class, customer_phone, customer_email,
                     row_number() OVER (PARTITION BY k ORDER BY received_at DESC, id DESC)
                         AS rn,
                     min(created_at) OVER (PARTITION BY k) AS first_at,
                     max(updated_at) OVER (PARTITION BY k) AS last_at
              FROM (SELECT {key} AS k, id, received_at, created_at, updated_at,
                           customer_name, customer_class, customer_phone, customer_email
                    FROM complaint WHERE customer_id IS NULL) AS keyed
              WHERE k IS NOT NULL) AS ranked
        WHERE rn = 1 AND NOT EXISTS (SELECT 1 FROM customer AS known WHERE known.key = ranked.k)
    """))
    bind.execute(sa.text(f"""
        UPDATE complaint SET customer_id = customer.id
        FROM customer WHERE complaint.customer_id IS NULL AND customer.key = ({key})
    """))
    if bind.dialect.name == 'postgresql':  # fresh statistics: the planner uses the new index
        bind.execute(sa.text("ANALYZE complaint"))
        bind.execute(sa.text("ANALYZE customer"))


def downgrade():
    op.drop_index(op.f('ix_complaint_customer_id'), table_name='complaint')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_complaint_customer_id_customer', 'complaint',
                           type_='foreignkey')
    with op.batch_alter_table('complaint', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('customer_id')
    op.drop_table('customer')
