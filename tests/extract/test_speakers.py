"""The article's cast: people with roles, organisations, the report's publisher."""

from __future__ import annotations

from bot.extract.speakers import Cast, split_role


def test_role_from_an_appositive_anywhere() -> None:
    cast = Cast("Later on, Tom Adebayo, director of children’s services at Wexley Council, spoke.")
    assert cast.person("Adebayo").role == "director of children’s services at Wexley Council"


def test_role_from_job_words_before_the_name() -> None:
    cast = Cast("Opposition leader Daniel Okafor called it a disgrace.")
    assert cast.person("Okafor").role == "Opposition leader"


def test_role_before_the_name_and_a_comma() -> None:
    cast = Cast("The charity’s chief executive, Tom Ashdown-Reyes, said it was shocking.")
    assert cast.person("Ashdown-Reyes").role == "The charity’s chief executive"


def test_name_inside_a_longer_capitalised_run_is_no_person() -> None:
    cast = Cast("Maya Lindholm, co-founder of Fair Access SEND, spoke.")
    assert not cast.is_known_surname("Access")
    assert cast.is_known_surname("Lindholm")


def test_particles_belong_to_the_surname() -> None:
    cast = Cast("Children’s Commissioner for England Rachel de Souza spoke.")
    assert cast.person("de Souza").name == "Rachel de Souza"


def test_publisher_is_the_body_most_named_as_author() -> None:
    text = (
        "The Child Safeguarding Practice Review Panel said on Monday it was concerned. "
        "The Panel’s report covers 54 reviews. A survey by the charity Care Counts is cited. "
        "The Panel’s annual report is due in May."
    )
    assert Cast(text).publisher() == "Child Safeguarding Practice Review Panel"


def test_the_panel_resolves_to_the_named_panel() -> None:
    cast = Cast("The Child Safeguarding Practice Review Panel met.")
    speaker = cast.organisation("The Panel")
    assert speaker is not None and speaker.name == "Child Safeguarding Practice Review Panel"


def test_spokesperson_speaks_for_the_body_named_after_for() -> None:
    speaker = Cast("").organisation("A spokesperson for Hollinsford Borough Council")
    assert speaker is not None
    assert (speaker.name, speaker.role) == ("Hollinsford Borough Council", "spokesperson")


def test_split_role_keeps_honorifics_with_the_name() -> None:
    assert split_role("Children’s Minister Laura Kendrick") == (
        "Laura Kendrick",
        "Children’s Minister",
    )
    assert split_role("Professor Ruth Castellano") == ("Professor Ruth Castellano", "")
