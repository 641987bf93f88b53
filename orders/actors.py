"""Who acts on an order: a staff user, a channel (API key), or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oms.kernel.roles import Role, user_has_role
from partners.models import Channel


@dataclass(frozen=True)
class Actor:
    label: str  # "user:alice", "channel:web", "system"
    user: Any = None  # a Django user, for staff
    channel: Channel | None = None  # for a channel key

    @classmethod
    def system(cls) -> Actor:
        return cls(label="system")

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(label=f"user:{user.get_username()}", user=user)

    @classmethod
    def for_channel(cls, channel: Channel) -> Actor:
        return cls(label=f"channel:{channel.code}", channel=channel)

    @classmethod
    def from_principal(cls, principal) -> Actor:
        """The request's principal: a ChannelPrincipal (has .channel) or a Django user."""
        channel = getattr(principal, "channel", None)
        if channel is not None:
            return cls.for_channel(channel)
        return cls.for_user(principal)

    @property
    def is_system(self) -> bool:
        return self.label == "system"

    @property
    def idempotency_scope(self) -> str:
        if self.channel is not None:
            return f"channel:{self.channel.pk}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return "system"

    def has_role(self, role: Role | str) -> bool:
        return self.user is not None and user_has_role(self.user, Role(role))
