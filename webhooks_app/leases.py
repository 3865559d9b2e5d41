"""Taking rows under a lease in one statement: `UPDATE … WHERE pk IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED])
RETURNING pk`. The outbox's events and deliveries are both claimed this way, so a claim costs one round trip and
never waits for rows another worker holds (PostgreSQL), or runs alone (SQLite's single writer)."""

from django.db import connection


def take(queryset, limit: int, assignments: dict[str, object]) -> list:
    """Set `assignments` on up to `limit` rows of `queryset` (taken in its order) and return their primary keys.
    Every row taken meets the queryset's condition when it is taken (PostgreSQL re-checks it on each row it locks;
    SQLite runs the statement alone), so two workers never take the same row."""
    pk = connection.ops.quote_name(queryset.model._meta.pk.column)
    sql, params = taking(queryset, limit, assignments)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {pk}", params)
        return [row[0] for row in cursor.fetchall()]


def taking(queryset, limit: int, assignments: dict[str, object]) -> tuple[str, list]:
    """The UPDATE statement of `take`, without its RETURNING clause: for a caller that wants other columns back,
    or the statement inside a larger one."""
    model = queryset.model
    picked = queryset.values("pk")[:limit]
    sub_sql, sub_params = picked.query.sql_with_params()
    if connection.features.has_select_for_update_skip_locked:
        sub_sql += " FOR UPDATE SKIP LOCKED"
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in assignments]
    values = [field.get_db_prep_save(assignments[field.name], connection) for field in fields]
    pk = quote(model._meta.pk.column)
    # PostgreSQL: `= ANY(ARRAY(…))` finds the picked rows through the primary key; for `IN (…)` its planner may
    # hash the picked keys and scan the whole table, a cost that grows with the table's history.
    picked_rows = f"= ANY(ARRAY({sub_sql}))" if connection.vendor == "postgresql" else f"IN ({sub_sql})"
    sql = "UPDATE {} SET {} WHERE {} {}".format(
        quote(model._meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in fields), pk, picked_rows)
    return sql, [*values, *sub_params]
