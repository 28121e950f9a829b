"""Extension points for apps that build on partners (imports flow one way).

`partner_authenticated` is sent after a member's API request authenticated (Mini App or web);
receivers return nothing that the sender uses. Joining the tree is not a signal: the signup use
case (`partners.services.partner_join`) calls the referral awards directly, in its body.
"""

from django.dispatch import Signal

# kwargs: partner, request
partner_authenticated = Signal()
