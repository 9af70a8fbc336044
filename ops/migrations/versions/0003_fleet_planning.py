"""fleet planning: stop demand, service time, outcome; vehicle capacity, shift and depot; route lifecycle times

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROUTE_STATUSES = "('planned', 'assigned', 'in_progress', 'completed', 'canceled')"
STOP_STATUSES = "('pending', 'en_route', 'arrived', 'completed', 'skipped', 'failed')"


def upgrade() -> None:
    op.add_column("stops", sa.Column("demand", sa.Integer(), server_default="0", nullable=False))
    op.add_column("stops", sa.Column("service_min", sa.Float(), server_default="0", nullable=False))
    op.add_column("stops", sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("stops", sa.Column("failure_reason", sa.String(length=300), nullable=True))
    op.add_column("stops", sa.Column("proof_note", sa.String(length=1000), nullable=True))
    op.create_check_constraint("ck_stops_demand", "stops", "demand >= 0")
    op.create_check_constraint("ck_stops_service_min", "stops", "service_min >= 0")
    op.create_check_constraint("ck_stops_status", "stops", f"status IN {STOP_STATUSES}")

    op.add_column("vehicles", sa.Column("capacity", sa.Integer(), server_default="100", nullable=False))
    op.add_column("vehicles", sa.Column("shift_start", sa.Time(), server_default="08:00", nullable=False))
    op.add_column("vehicles", sa.Column("shift_end", sa.Time(), server_default="18:00", nullable=False))
    for column in ("depot_latitude", "depot_longitude", "end_latitude", "end_longitude"):
        op.add_column("vehicles", sa.Column(column, sa.Float(), nullable=True))
    op.create_check_constraint("ck_vehicles_capacity", "vehicles", "capacity >= 0")
    op.create_check_constraint("ck_vehicles_shift", "vehicles", "shift_end > shift_start")

    op.add_column("routes", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("routes", sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("routes", sa.Column("plan_job", sa.String(length=40), nullable=True))
    op.create_check_constraint("ck_routes_status", "routes", f"status IN {ROUTE_STATUSES}")


def downgrade() -> None:
    op.drop_constraint("ck_routes_status", "routes", type_="check")
    for column in ("plan_job", "completed_at", "started_at"):
        op.drop_column("routes", column)
    op.drop_constraint("ck_vehicles_shift", "vehicles", type_="check")
    op.drop_constraint("ck_vehicles_capacity", "vehicles", type_="check")
    for column in ("end_longitude", "end_latitude", "depot_longitude", "depot_latitude", "shift_end", "shift_start",
                   "capacity"):
        op.drop_column("vehicles", column)
    op.drop_constraint("ck_stops_status", "stops", type_="check")
    op.drop_constraint("ck_stops_service_min", "stops", type_="check")
    op.drop_constraint("ck_stops_demand", "stops", type_="check")
    for column in ("proof_note", "failure_reason", "completed_at", "service_min", "demand"):
        op.drop_column("stops", column)
