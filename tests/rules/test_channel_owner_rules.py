"""Channel owners (rules.channel_owners): the setting key, reading a stored value, and the
administrator's choice checked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import Channel, Role
from rules.channel_owners import check_channel_owner, owner_key, parse_owner
from rules.errors import InvalidInput, PermissionDenied


def test_one_key_per_channel_within_the_setting_column():
    keys = [owner_key(channel) for channel in Channel.ALL]
    assert len(set(keys)) == len(Channel.ALL) and all(len(k) <= 64 for k in keys)
    with pytest.raises(ValueError):
        owner_key("fax")


@pytest.mark.parametrize("stored,owner", [("12", 12), (" 7 ", 7), ("", None), (None, None),
                                          ("x", None), ("-3", None), ("9" * 19, None),
                                          ("²", None), ("５", None)])
def test_parse_owner(stored, owner):
    assert parse_owner(stored) == owner


def test_the_administrator_names_an_active_member_of_staff():
    assert check_channel_owner(Role.ADMIN, Channel.PHONE, "5", {5, 6}) == 5
    assert check_channel_owner(Role.ADMIN, Channel.PHONE, " ", {5}) is None  # nobody


@pytest.mark.parametrize("role", sorted(set(Role.ALL) - {Role.ADMIN}))
def test_no_other_role_may(role):
    with pytest.raises(PermissionDenied):
        check_channel_owner(role, Channel.PHONE, "5", {5})


@pytest.mark.parametrize("channel,value", [("fax", "5"), (Channel.PHONE, "6"),
                                           (Channel.PHONE, "five"), (Channel.PHONE, "5.0")])
def test_unknown_channels_and_people_are_refused(channel, value):
    with pytest.raises(InvalidInput):
        check_channel_owner(Role.ADMIN, channel, value, {5})


def test_owners_are_the_roles_that_see_every_complaint():
    from rules.channel_owners import OWNER_ROLES

    assert set(OWNER_ROLES) == set(Role.SEE_ALL)
    assert Role.DEPT_HEAD not in OWNER_ROLES and Role.HANDLER not in OWNER_ROLES


@given(st.text(max_size=40))
def test_any_text_is_an_eligible_owner_nobody_or_a_refusal(value):
    try:
        owner = check_channel_owner(Role.ADMIN, Channel.WEB, value, {1, 2, 3})
    except InvalidInput:
        return
    assert owner in (None, 1, 2, 3)
