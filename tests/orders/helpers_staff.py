"""Staff users with roles (the roles' groups come from oms.kernel.roles)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from oms.kernel.roles import Role, role_sync


def staff(username: str, *roles: Role):
    role_sync()
    user = get_user_model().objects.create_user(username=username, password="x", is_staff=True)
    for role in roles:
        user.groups.add(Group.objects.get(name=Role(role).label))
    return user
