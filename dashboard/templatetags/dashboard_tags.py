"""Numbers and money formatted for the page language (en: 1,234.50 · ru: 1 234,50)."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils import formats

register = template.Library()


@register.filter
def num(value, places=None):
    """An integer or decimal with the language's grouping and decimal separators."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    decimal_pos = int(places) if places is not None else None
    return formats.number_format(number, decimal_pos=decimal_pos, use_l10n=True, force_grouping=True)


def _trimmed(value, minimum: int, maximum: int):
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    places = -amount.normalize().as_tuple().exponent if amount != amount.to_integral() else 0
    shown = max(minimum, min(maximum, places))
    return formats.number_format(amount, decimal_pos=shown, use_l10n=True, force_grouping=True)


@register.filter
def money(value, places=2):
    """USDT: at least two decimals, up to six when the amount has them (nothing is rounded away)."""
    return _trimmed(value, int(places), 6)


@register.filter
def coins(value):
    """TON: up to nine decimals (nanotons), trailing zeros dropped, at least two."""
    return _trimmed(value, 2, 9)


@register.filter
def percent(value, places=0):
    """A rate (0.30) as a percentage (30%)."""
    if value is None or value == "":
        return ""
    try:
        rate = Decimal(str(value)) * 100
    except (InvalidOperation, ValueError):
        return value
    return f"{formats.number_format(rate, decimal_pos=int(places), use_l10n=True)}%"


@register.filter
def signed(value, currency="XP"):
    """+35 XP / −12.50 USDT with the language's separators."""
    if value is None or value == "":
        return ""
    number = Decimal(str(value))
    text = money(abs(number)) if currency != "XP" else num(abs(number))
    return f"+{text}" if number >= 0 else f"−{text}"


@register.filter
def ratio_percent(part, whole):
    """0-100 for a progress bar; 0 when whole is 0."""
    try:
        part, whole = Decimal(str(part)), Decimal(str(whole))
    except (InvalidOperation, ValueError):
        return 0
    if whole <= 0:
        return 0
    return int(max(Decimal(0), min(Decimal(100), part * 100 / whole)))
