"""Profile fields contributed by other apps. `/api/v1/me/` and the network member lists show
XP, levels, balances and streaks, which live in apps that depend on partners, so those apps
register providers here from their AppConfig.ready() instead of partners importing them.

A profile provider takes one partner and returns a dict of fields (one or two queries).
A member-list provider takes a list of partners and returns {partner_id: {field: value}} with a
fixed number of queries, whatever the list length.
"""

from collections.abc import Callable, Iterable

from partners.models import Partner

ProfileProvider = Callable[[Partner], dict]
MemberListProvider = Callable[[list[Partner]], dict[int, dict]]

_profile_providers: list[ProfileProvider] = []
_member_list_providers: list[MemberListProvider] = []


def register_profile_provider(provider: ProfileProvider) -> None:
    if provider not in _profile_providers:
        _profile_providers.append(provider)


def register_member_list_provider(provider: MemberListProvider) -> None:
    if provider not in _member_list_providers:
        _member_list_providers.append(provider)


def profile_extra_fields(partner: Partner) -> dict:
    fields: dict = {}
    for provider in _profile_providers:
        fields.update(provider(partner))
    return fields


def member_list_extra_fields(partners: Iterable[Partner]) -> dict[int, dict]:
    partners = list(partners)
    merged: dict[int, dict] = {p.pk: {} for p in partners}
    if not partners:
        return merged
    for provider in _member_list_providers:
        for partner_id, fields in provider(partners).items():
            merged.setdefault(partner_id, {}).update(fields)
    return merged
