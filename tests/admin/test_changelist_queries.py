"""Every admin changelist of our apps runs as many queries for 20 rows as for 2 (issue #11)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from syncs.models import SyncConfig
from tests import factories

APPS = {"accounts", "rostering", "syncs"}
FEW, MANY = 2, 20

MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label in APPS),
    key=lambda model: model._meta.label,
)


def _add_rows(model, n: int) -> None:
    factory = getattr(factories, f"{model.__name__}Factory", None)
    assert factory is not None, f"tests/factories.py has no {model.__name__}Factory"
    rows = factory.create_batch(n)
    if model is SyncConfig:
        # "Last run" shows each config's latest run: give every config two runs.
        for config in rows:
            factories.SyncRunFactory.create_batch(2, config=config)


def _shape(sql: str) -> str:
    """The query without its values, so one query per row counts as one shape."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)


def _load(client, url: str, rows: int) -> tuple[int, Counter]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    assert len(response.context["cl"].result_list) >= rows, url
    return len(ctx.captured_queries), Counter(_shape(q["sql"]) for q in ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_admin_changelist_queries_do_not_grow_with_rows(admin_client, model):
    """The changelist runs a fixed number of queries, however many rows it shows."""
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    _add_rows(model, FEW)
    admin_client.get(url)  # warm-up: one-off queries (content types and the like)
    few, _ = _load(admin_client, url, FEW)
    _add_rows(model, MANY - FEW)
    many, queries = _load(admin_client, url, MANY)
    (sql, times), *_ = queries.most_common(1)
    sql = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", sql)
    assert few == many, (
        f"{meta.label} changelist: {few} queries with {FEW} rows, {many} with {MANY} rows; "
        f"most repeated ({times}x): {sql[:300]}"
    )


@pytest.mark.django_db
def test_admin_config_list_links_each_configs_latest_run(admin_client):
    """The "Last run" column links the latest run by its status; a dash when none ran."""
    ran, never = factories.SyncConfigFactory.create_batch(2)
    factories.SyncRunFactory(config=ran, status="succeeded")
    latest = factories.SyncRunFactory(config=ran, status="failed")
    response = admin_client.get(reverse("admin:syncs_syncconfig_changelist"))
    model_admin = response.context["cl"].model_admin
    shown = {obj.pk: model_admin.last_run(obj) for obj in response.context["cl"].result_list}
    url = reverse("admin:syncs_syncrun_change", args=[latest.pk])
    assert shown == {ran.pk: f'<a href="{url}">Failed</a>', never.pk: "—"}
