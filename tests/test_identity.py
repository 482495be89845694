"""Which entries are the same item."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.identity import (
    Story,
    canonical_link,
    content_hash,
    group_stories,
    item_key,
    match_story,
    normalise_url,
    same_story,
    story_of,
)

WHEN = datetime(2025, 4, 3, 7, 6, 37, tzinfo=UTC)


def test_http_and_https_guid_are_the_same_item() -> None:
    a = item_key("http://www.communitycare.co.uk/?p=216724", "", "", None, "")
    b = item_key("https://WWW.CommunityCare.co.uk/?p=216724", "", "", None, "")
    assert a == b == "guid:www.communitycare.co.uk/?p=216724"


def test_path_case_still_matters() -> None:
    assert normalise_url("https://x.org/A") != normalise_url("https://x.org/a")


def test_default_port_dropped_other_port_kept() -> None:
    assert normalise_url("https://x.org:443/a") == "x.org/a"
    assert normalise_url("https://x.org:8443/a") == "x.org:8443/a"


def test_non_url_guid_kept_verbatim() -> None:
    assert (
        item_key(" tag:x.org,2024:1 ", "https://x.org/1", "", None, "") == "guid:tag:x.org,2024:1"
    )


def test_missing_guid_falls_back_to_link() -> None:
    assert item_key("", "http://x.org/a", "t", WHEN, "c") == "link:x.org/a"


def test_missing_guid_and_link_falls_back_to_content_hash() -> None:
    key = item_key("", "", "Title", WHEN, "Body")
    assert key.startswith("hash:")
    assert key == item_key("", "", "Title", WHEN, "Body")
    assert key != item_key("", "", "Title", WHEN, "Other body")


def test_content_hash_separates_fields() -> None:
    assert content_hash("ab", "c", "") != content_hash("a", "bc", "")


# -- one story across feeds ---------------------------------------------------------------

ARTICLE = "https://www.communitycare.co.uk/2025/04/03/racial-bias-child-protection-readers-take/"


def test_canonical_link_ignores_scheme_host_case_slash_and_tracking() -> None:
    messy = ARTICLE.replace("https://www.communitycare", "http://WWW.CommunityCare").rstrip("/")
    tracked = ARTICLE + "?utm_source=rss&utm_medium=rss&fbclid=x#comments"
    assert canonical_link(messy) == canonical_link(tracked) == canonical_link(ARTICLE)
    assert canonical_link(ARTICLE) == (
        "www.communitycare.co.uk/2025/04/03/racial-bias-child-protection-readers-take"
    )


def test_canonical_link_keeps_a_query_that_names_the_article() -> None:
    assert canonical_link("https://x.org/?p=1&utm_campaign=a") == "x.org?p=1"
    assert canonical_link("https://x.org/?p=1") != canonical_link("https://x.org/?p=2")


def test_a_site_address_is_not_an_article_link() -> None:
    assert canonical_link("https://x.org/") == canonical_link("https://x.org") == ""
    a = story_of("", "https://x.org/", "One", "first words")
    b = story_of("", "https://x.org/", "Two", "other words")
    assert not same_story(a, b)


def test_same_guid_is_the_same_story() -> None:
    a = story_of("https://x.org/?p=1", "https://mirror.example/1", "A", "a")
    b = story_of("http://X.org/?p=1", "https://x.org/other", "B", "b")
    assert same_story(a, b)


def test_a_bare_guid_is_unique_within_its_feed_only() -> None:
    a = story_of("1234", "https://x.org/a", "A", "words of a")
    b = story_of("1234", "https://y.org/b", "B", "words of b")
    assert a.guid == b.guid == ""
    assert not same_story(a, b)


def test_same_link_different_guid_is_the_same_story() -> None:
    a = story_of("tag:x.org,2025:1", ARTICLE, "Title", "Body")
    b = story_of("https://x.org/?p=9", ARTICLE + "?utm_source=rss", "Title, edited", "Body 2")
    assert same_story(a, b)


def test_same_words_is_the_same_story() -> None:
    a = story_of("", "", "Racial bias", "Social workers  believe\nracial bias")
    b = story_of("", "", " Racial bias ", "Social workers believe racial bias")
    assert same_story(a, b)


def test_a_title_without_text_is_not_a_story() -> None:
    assert not same_story(
        story_of("", "", "Weekly update", ""), story_of("", "", "Weekly update", "")
    )


def test_match_story_picks_the_oldest_candidate() -> None:
    story = Story(guid="", link="x.org/a", text_hash="")
    candidates = [
        (9, Story("", "x.org/a", "")),
        (3, Story("", "x.org/a", "")),
        (1, Story("", "x.org/b", "")),
    ]
    assert match_story(story, candidates) == 3
    assert match_story(Story("", "x.org/c", ""), candidates) is None


def test_group_stories_folds_other_feeds_copies_into_the_oldest() -> None:
    s = Story("", "x.org/a", "")
    other = Story("", "x.org/b", "")
    assert group_stories([(5, 2, s), (1, 1, s), (7, 3, s), (8, 1, other)]) == {5: 1, 7: 1}


def test_group_stories_never_folds_items_of_one_feed() -> None:
    s = Story("", "x.org/a", "")
    assert group_stories([(1, 1, s), (2, 1, s)]) == {}
    # a third feed's copy joins the first group; the second of feed 1 stays apart
    assert group_stories([(1, 1, s), (2, 1, s), (3, 2, s)]) == {3: 1}
