"""Profile fields contributed by other apps. `/api/v1/me/` and the network member lists show
XP, levels, balances and streaks, which live in apps that depend on partners, so those apps
register providers here from their AppConfig.ready() instead of partners importing them.

A profile provider takes one partner (and `new_member=True` for a member created by this very
request, who has no rows anywhere yet: it answers without reading) and returns a dict of fields
(one or two queries). It may add `member_cache.EXPIRES_AT`: the moment its answer stops being
true without any write (a streak lapsing at midnight, held USDT released).
A member-list provider takes a list of partners and returns {partner_id: {field: value}} with a
fixed number of queries, whatever the list length.
"""

from collections.abc import Callable, Iterable

from partners.member_cache import EXPIRES_AT, member_cached
from partners.models import Partner
from partners.selectors import partner_network_counts

ProfileProvider = Callable[..., dict]
MemberListProvider = Callable[[list[Partner]], dict[int, dict]]

_profile_providers: list[ProfileProvider] = []
_member_list_providers: list[MemberListProvider] = []


def register_profile_provider(provider: ProfileProvider) -> None:
    if provider not in _profile_providers:
        _profile_providers.append(provider)


def register_member_list_provider(provider: MemberListProvider) -> None:
    if provider not in _member_list_providers:
        _member_list_providers.append(provider)


def profile_extra_fields(partner: Partner, *, new_member: bool = False) -> dict:
    """Every provider's fields; the earliest of their expiries under EXPIRES_AT."""
    fields: dict = {}
    expiries = []
    for provider in _profile_providers:
        provided = provider(partner, new_member=new_member)
        if provided.get(EXPIRES_AT) is not None:
            expiries.append(provided.pop(EXPIRES_AT))
        fields.update(provided)
    if expiries:
        fields[EXPIRES_AT] = min(expiries)
    return fields


def member_row_stamp(partner: Partner) -> tuple:
    """The member-row values the cached sections are built from (tree position, PRO): read live
    with the member on every request, so a body built from other values is not served."""
    return (partner.path, partner.is_pro, partner.pro_expires_at)


def profile_fields(partner: Partner, *, new_member: bool = False) -> dict:
    """What `/api/v1/me/` shows beyond the member row: downline counts (`network`) and every
    provider's fields, from the member cache (partners.member_cache) when it is current."""

    def build() -> dict:
        return {"network": partner_network_counts(partner, known_empty=new_member), **profile_extra_fields(partner, new_member=new_member)}

    return member_cached("profile", partner.pk, build, stamp=member_row_stamp(partner))


def network_fields(partner: Partner) -> dict:
    """`/api/v1/me/network/`: L1..L9 counts from the member cache when current."""
    return member_cached("network", partner.pk, lambda: partner_network_counts(partner), stamp=member_row_stamp(partner))


def member_list_extra_fields(partners: Iterable[Partner]) -> dict[int, dict]:
    partners = list(partners)
    merged: dict[int, dict] = {p.pk: {} for p in partners}
    if not partners:
        return merged
    for provider in _member_list_providers:
        for partner_id, fields in provider(partners).items():
            merged.setdefault(partner_id, {}).update(fields)
    return merged
