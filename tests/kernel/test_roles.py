"""Staff roles: one group per role, synced idempotently, with exactly the permissions it names."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission

from oms.kernel.roles import ROLE_PERMISSIONS, Role, role_sync, user_has_role
from partners.authentication import ChannelPrincipal
from partners.models import Channel

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LABELS = {role.label for role in Role}


def existing_permissions() -> dict[str, int]:
    return {
        f"{app}.{codename}": pk
        for pk, app, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }


def snapshot() -> dict[str, set[int]]:
    return {
        g.name: set(g.permissions.values_list("pk", flat=True))
        for g in Group.objects.filter(name__in=LABELS).prefetch_related("permissions")
    }


def member(django_user_model, role: Role, **extra):
    user = django_user_model.objects.create_user(username=f"u-{role.value}", is_staff=True, **extra)
    user.groups.add(Group.objects.get(name=role.label))
    return user


def test_migrate_already_created_the_role_groups():
    assert set(Group.objects.filter(name__in=LABELS).values_list("name", flat=True)) == LABELS


def test_role_sync_creates_one_group_per_role_and_is_idempotent():
    Group.objects.filter(name__in=LABELS).delete()
    role_sync()
    first = snapshot()
    assert set(first) == LABELS
    total = Group.objects.count()

    role_sync()
    assert snapshot() == first
    assert Group.objects.count() == total


def test_role_sync_repairs_a_group_somebody_edited_by_hand():
    role_sync()
    expected = snapshot()
    desk = Group.objects.get(name=Role.ORDER_DESK.label)
    desk.permissions.clear()
    desk.permissions.add(Permission.objects.get(content_type__app_label="auth", codename="delete_user"))
    role_sync()
    assert snapshot() == expected


def test_each_group_has_exactly_the_existing_permissions_its_role_names():
    role_sync()
    perms = existing_permissions()
    groups = snapshot()
    for role, wanted in ROLE_PERMISSIONS.items():
        expected = set(perms.values()) if "*" in wanted else {perms[w] for w in wanted if w in perms}
        assert groups[Role(role).label] == expected, role


def test_the_admin_group_has_every_permission():
    role_sync()
    assert snapshot()[Role.ADMIN.label] == set(Permission.objects.values_list("pk", flat=True))


def test_order_desk_can_view_products_but_not_change_price_lists(django_user_model):
    role_sync()
    desk = member(django_user_model, Role.ORDER_DESK)
    assert Permission.objects.filter(content_type__app_label="catalog", codename="view_product").exists()
    assert desk.has_perm("catalog.view_product")
    assert not desk.has_perm("catalog.change_product")
    assert not desk.has_perm("pricing.change_pricelist")
    assert "pricing.change_pricelist" not in ROLE_PERMISSIONS[Role.ORDER_DESK]

    pricing_admin = member(django_user_model, Role.PRICING_ADMIN)
    assert pricing_admin.has_perm("catalog.change_product")
    if Permission.objects.filter(content_type__app_label="pricing", codename="change_pricelist").exists():
        assert pricing_admin.has_perm("pricing.change_pricelist")


def test_every_named_permission_is_well_formed():
    for role, wanted in ROLE_PERMISSIONS.items():
        for perm in wanted - {"*"}:
            app, _, codename = perm.partition(".")
            assert app and codename and "." not in codename, (role, perm)


# --- user_has_role -----------------------------------------------------------------------------


def test_user_has_role_for_members_only(django_user_model):
    desk = member(django_user_model, Role.ORDER_DESK)
    assert user_has_role(desk, Role.ORDER_DESK)
    assert not user_has_role(desk, Role.FINANCE)
    assert not user_has_role(AnonymousUser(), Role.ORDER_DESK)


def test_a_superuser_has_every_role(django_user_model):
    root = django_user_model.objects.create_superuser(username="root", password="x")
    assert all(user_has_role(root, role) for role in Role)


def test_a_deactivated_member_has_no_role(django_user_model):
    desk = member(django_user_model, Role.ORDER_DESK, is_active=False)
    assert not user_has_role(desk, Role.ORDER_DESK)
    assert not desk.has_perm("catalog.view_product")  # consistent with Django's own checks


def test_an_api_principal_has_no_staff_role():
    channel = Channel.objects.create(code="web", name="Web", type="web")
    principal = ChannelPrincipal(channel=channel, key_id=1)
    assert principal.is_authenticated
    assert not user_has_role(principal, Role.ORDER_DESK)  # and does not crash: it has no groups
