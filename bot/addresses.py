"""E-mail addresses: checked by email-validator, compared ignoring case.

The library knows the RFCs (international local parts, IDN domains, quoted strings,
special-use names such as `.test`); writing that by hand is how `bob@` got through before.
No DNS look-up is made: a config is checked offline, and the relay reports a dead domain.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    written: str  # as the config should hold it: the domain lower-cased, in the script typed
    key: str  # what two spellings of one mailbox share
    display_name: str = ""


def parse(value: str, *, display_name: bool = False) -> Address:
    """One address (`Name <a@b>` too when display_name); ValueError saying what is wrong."""
    # imported here: compiling its patterns takes ~0.08 s, which a config without
    # addresses (and `--help`) should not pay
    from email_validator import EmailNotValidError, validate_email

    try:
        found = validate_email(value, check_deliverability=False, allow_display_name=display_name)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not one e-mail address: {exc}") from exc
    # A domain typed as xn--… stays so: a Unicode domain needs a relay that speaks SMTPUTF8.
    typed_ascii = value.rpartition("@")[2].isascii()
    domain = found.ascii_domain if typed_ascii else found.domain
    return Address(
        written=f"{found.local_part}@{domain}",
        # Local parts are case-sensitive by the RFC but not by any mail server in use, and the
        # archive records unsubscribes lower-cased: the whole address is compared ignoring case.
        key=f"{found.local_part.lower()}@{found.ascii_domain.lower()}",
        display_name=found.display_name or "",
    )


def key(value: str) -> str | None:
    """The comparison key of an address, or None if it is not one."""
    try:
        return parse(value).key
    except ValueError:
        return None
