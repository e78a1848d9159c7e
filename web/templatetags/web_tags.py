"""Filters the page templates share: times in a district's zone, labels, help links."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.urls import reverse
from django.utils import timezone

register = template.Library()


@register.filter
def local(value: datetime | None, zone: str = "UTC") -> str:
    """`Dec 4, 11:00 PM PST` in the given time zone (the year too when not this one)."""
    if value is None:
        return ""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    at = value.astimezone(tz)
    year = f", {at.year}" if at.year != timezone.now().astimezone(tz).year else ""
    hour = at.hour % 12 or 12
    return f"{at:%b} {at.day}{year}, {hour}:{at:%M} {at:%p} {at:%Z}"


@register.filter
def kind_label(kind: str) -> str:
    """`students` → `Students`, `guardianships` → `Guardian links`."""
    return {"guardianships": "Guardian links"}.get(kind, kind.replace("_", " ").capitalize())


@register.filter
def help_link(code: str) -> str:
    return reverse("web:help", args=[str(code).replace("_", "-")])


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def humanize_key(key: str) -> str:
    return str(key).replace("_", " ").capitalize()


@register.filter
def is_mapping(value) -> bool:
    return isinstance(value, dict)


@register.filter
def is_list(value) -> bool:
    return isinstance(value, list | tuple)


@register.filter
def plural(n: int, forms: str = "s") -> str:
    """`{{ n }} record{{ n|plural }}`; `{{ n }} {{ n|plural:"person,people" }}`."""
    if "," in forms:
        one, many = forms.split(",", 1)
        return one if n == 1 else many
    return "" if n == 1 else forms


@register.filter
def num(value) -> str:
    """`3,523`: whole numbers with thousands separators (anything else as it is)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "" if value is None else str(value)
    return f"{value:,}"
