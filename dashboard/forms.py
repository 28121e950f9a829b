"""Forms of the dashboard's actions. Labels and errors are translated; the rules behind them
(payout minimum, address shapes, tx hash shape) stay in the services and are reused here."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from partners.models import Partner
from payments.api.serializers import _PAYOUT_ADDRESS_PATTERNS


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=Partner.Language.choices)
    notifications_enabled = forms.BooleanField(label=_("Send me notifications in Telegram"), required=False)
    leaderboard_visibility = forms.ChoiceField(
        label=_("On the leaderboards"),
        widget=forms.RadioSelect,
        choices=[
            (Partner.LeaderboardVisibility.VISIBLE, _("Show my name")),
            (Partner.LeaderboardVisibility.MASKED, _("Show my name masked (e.g. A***n)")),
            (Partner.LeaderboardVisibility.HIDDEN, _("Leave me out of the leaderboards")),
        ],
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=Partner.Language.choices)


class PayoutForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (USDT)"), max_digits=24, decimal_places=6, min_value=Decimal("0.000001"),
        error_messages={
            "invalid": _("Enter a number, e.g. 25.50."),
            "max_decimal_places": _("Use at most 6 decimal places."),
            "min_value": _("Enter a positive amount."),
            "required": _("Enter an amount."),
            "max_digits": _("This amount is too large."),
            "max_whole_digits": _("This amount is too large."),
        },
    )
    network = forms.ChoiceField(label=_("Network"), choices=[(n, n) for n in settings.PAYOUT_NETWORKS])
    address = forms.CharField(
        label=_("Wallet address"), max_length=128, strip=True,
        error_messages={"required": _("Enter your wallet address."), "max_length": _("This address is too long.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].localize = True
        self.fields["amount"].widget.is_localized = True

    def clean(self):
        data = super().clean()
        network, address = data.get("network"), data.get("address")
        pattern = _PAYOUT_ADDRESS_PATTERNS.get(network or "")
        if address and pattern is not None and not pattern.match(address):
            self.add_error("address", _("This is not a valid %(network)s address.") % {"network": network})
        return data


class TxHashForm(forms.Form):
    tx_hash = forms.CharField(
        label=_("Transaction hash"), max_length=130, strip=True,
        error_messages={"required": _("Enter the transaction hash."), "max_length": _("This hash is too long.")},
    )
