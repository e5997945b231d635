"""Geotargeted subscriptions: who wants to hear about which place (pure matching core).

``match(enriched, index)`` is pure and vectorised; persistence lives at the edge in
``lalert.subscriptions.store``.
"""

from lalert.subscriptions.index import SubscriptionIndex, match
from lalert.subscriptions.model import InvalidSubscription, Subscription

__all__ = ["InvalidSubscription", "Subscription", "SubscriptionIndex", "match"]
