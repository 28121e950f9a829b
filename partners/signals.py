"""Extension points for apps that build on partners (imports flow one way).

`partner_joined` is sent inside the join transaction. Receivers do their work in that
transaction and return a list of `audit.services.AuditEntry` for the join's single audit append.
`partner_authenticated` is sent after a member's API request authenticated (Mini App or web).
"""

from django.dispatch import Signal

# kwargs: partner, referrer (Partner | None), signup (SignupContext)
partner_joined = Signal()
# kwargs: partner, request
partner_authenticated = Signal()
