"""The downline query must be an index range scan on `path`, not a table scan (PostgreSQL
needs the varchar_pattern_ops index Django adds for LIKE 'prefix%')."""

import pytest
from django.db import connection

from partners.selectors import partner_downline
from partners.tests.factories import make_chain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_descendant_query_uses_a_path_index():
    top = make_chain(12)[0]
    sql, params = partner_downline(top).order_by().values("depth").query.sql_with_params()
    with connection.cursor() as cursor:
        # Tiny test tables make a sequential scan cheapest; forbid it to see the index is usable.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(plan)
    assert "partners_partner_path" in plan and "_like" in plan, plan
    assert "Seq Scan" not in plan
