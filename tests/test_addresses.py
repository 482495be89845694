"""Addresses: what is accepted, how it is written back, and when two spellings are one."""

from __future__ import annotations

import pytest

from bot import addresses


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("Alice@Example.ORG", "Alice@example.org"),  # the local part is kept as typed
        ("zoë@Bücher.Example", "zoë@bücher.example"),  # a Unicode domain stays Unicode
        ("bob@XN--BCHER-KVA.example", "bob@xn--bcher-kva.example"),  # and an A-label stays so
    ],
)
def test_the_domain_is_written_lower_case_in_the_script_typed(typed: str, written: str) -> None:
    assert addresses.parse(typed).written == written


def test_spellings_of_one_mailbox_share_a_key() -> None:
    spellings = ["bob@bücher.example", "BOB@XN--BCHER-KVA.EXAMPLE", "Bob@Bücher.example"]
    assert {addresses.key(s) for s in spellings} == {"bob@xn--bcher-kva.example"}
    assert addresses.key("bob@example.org") != addresses.key("bob@example.com")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("bob@", "There must be something after the @-sign."),
        ("not an address", "An email address must have an @-sign."),
        ("a@example.org\nBcc: e@example.net", "invalid characters"),
        ("a@example.org, b@example.org", "invalid characters"),
        ("a@host.test", "special-use or reserved name"),
    ],
)
def test_what_is_not_one_address_says_why(value: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"is not one e-mail address: .*{why}"):
        addresses.parse(value)
    assert addresses.key(value) is None


def test_a_display_name_only_where_asked() -> None:
    sender = addresses.parse("reportbot <bot@Example.org>", display_name=True)
    assert (sender.display_name, sender.written) == ("reportbot", "bot@example.org")
    with pytest.raises(ValueError, match="display name"):
        addresses.parse("reportbot <bot@example.org>")
