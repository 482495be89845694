"""`reportbot subscribers add/remove`: addresses checked before the file is touched, one
mailbox in any spelling, unsubscribes undone by `add`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.archive import Archive
from bot.cli import run

_CONFIG = """[archive]
url = "{url}"

# the weekly digest: keep this comment
[[subscriptions]]
id = "weekly"
email = ["alice@example.org"]  # the first reader
"""


@pytest.fixture
def config_file(archive: Archive, tmp_path: Path) -> Path:
    path = tmp_path / "rb.toml"
    path.write_text(_CONFIG.format(url=archive.url), encoding="utf-8")
    return path


def _cli(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> tuple[int, str, str]:
    code = run(["--config", str(path), "subscribers", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_refuses_what_is_not_an_address_and_leaves_the_file(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config_file.read_bytes()
    code, out, err = _cli(capsys, config_file, "add", "weekly", "bob@")
    assert (code, out) == (1, "")
    assert err == (
        "reportbot: error: 'bob@' is not one e-mail address: There must be something after "
        "the @-sign. (nothing was changed)\n"
    )
    assert config_file.read_bytes() == before


def test_add_of_an_address_there_in_another_case_changes_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config_file.read_bytes()
    code, out, _ = _cli(capsys, config_file, "add", "weekly", "ALICE@Example.ORG")
    assert (code, out) == (0, "alice@example.org is already subscribed to weekly\n")
    assert config_file.read_bytes() == before


def test_add_writes_the_domain_lower_case_and_keeps_comments(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, config_file, "add", "weekly", "Zoë@Bücher.Example")
    assert (code, out) == (0, "Zoë@bücher.example subscribed to weekly\n")
    text = config_file.read_text(encoding="utf-8")
    assert '"alice@example.org", "Zoë@bücher.example"]  # the first reader' in text
    assert "# the weekly digest: keep this comment" in text


def test_remove_matches_any_case_and_add_takes_the_unsubscribe_back(
    config_file: Path, archive: Archive, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config_file.read_bytes()
    code, out, _ = _cli(capsys, config_file, "remove", "weekly", "Alice@EXAMPLE.org")
    assert (code, out) == (0, "alice@example.org unsubscribed from weekly\n")
    assert archive.unsubscribed() == {"weekly": {"alice@example.org"}}
    code, out, _ = _cli(capsys, config_file, "add", "weekly", "ALICE@example.org")
    assert (code, out) == (
        0,
        "alice@example.org subscribed to weekly again (its unsubscribe is undone)\n",
    )
    assert archive.unsubscribed() == {}
    assert config_file.read_bytes() == before


def test_remove_of_what_is_not_an_address_says_so(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(capsys, config_file, "remove", "weekly", "alice@")
    assert code == 1 and err.startswith("reportbot: error: 'alice@' is not one e-mail address")


def test_web_signups_are_listed_and_can_be_removed(
    config_file: Path, archive: Archive, capsys: pytest.CaptureFixture[str]
) -> None:
    archive.confirm_signup("weekly", "zoë@example.org", "zoë@example.org")
    code, out, _ = _cli(capsys, config_file, "list", "weekly")
    assert code == 0 and "zoë@example.org" in out and "sign-up)" in out  # rich may wrap
    code, out, _ = _cli(capsys, config_file, "remove", "weekly", "Zoë@example.org")
    assert (code, out) == (0, "zoë@example.org unsubscribed from weekly\n")
    assert archive.unsubscribed("weekly") == {"weekly": {"zoë@example.org"}}
