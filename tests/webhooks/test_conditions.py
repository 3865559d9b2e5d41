"""Matching rules (no database): event subscriptions, tag conditions, and the admin's explanations."""

import logging

from webhooks_app import conditions


def test_a_webhook_subscribes_to_the_events_it_lists():
    assert conditions.subscribes_to(["video.ready", "video.failed"], "video.ready")
    assert not conditions.subscribes_to(["video.ready"], "video.failed")
    assert not conditions.subscribes_to([], "video.ready")


def test_the_wildcard_subscribes_to_every_event():
    assert conditions.subscribes_to(["*"], "playlist.deleted")
    assert conditions.subscribes_to(["*"], "an.event.added.later")


def test_no_condition_tags_means_no_condition():
    assert conditions.tags_match([], "any", [])
    assert conditions.tags_match([], "all", ["news"])


def test_any_needs_one_of_the_tags():
    assert conditions.tags_match(["news", "sport"], "any", ["sport", "misc"])
    assert not conditions.tags_match(["news", "sport"], "any", ["misc"])
    assert not conditions.tags_match(["news"], "any", [])


def test_all_needs_every_tag():
    assert conditions.tags_match(["news", "sport"], "all", ["sport", "news", "misc"])
    assert not conditions.tags_match(["news", "sport"], "all", ["news"])


def test_a_broken_rule_is_logged_and_never_matches(caplog):
    with caplog.at_level(logging.WARNING, logger="webhooks_app.conditions"):
        assert not conditions.tags_match(["news"], "some", ["news"])
    assert "Unknown tag_match" in caplog.text


def explain(**overrides):
    arguments = {"is_active": True, "events": ["video.ready"], "tags": [], "tag_match": "any",
                 "event_type": "video.ready", "resource_tags": []}
    return conditions.explain(**{**arguments, **overrides})


def test_explain_says_an_inactive_webhook_gets_nothing():
    assert explain(is_active=False) == (False, "inactive")


def test_explain_names_the_event_that_is_not_subscribed():
    assert explain(event_type="video.failed") == (False, "not subscribed to video.failed")


def test_explain_names_the_failing_any_condition():
    reaches, why = explain(tags=["news", "sport"], resource_tags=["misc"])
    assert not reaches
    assert why == "tag condition fails: needs any of news, sport"


def test_explain_names_the_missing_tags_of_an_all_condition():
    reaches, why = explain(tags=["news", "sport", "live"], tag_match="all", resource_tags=["sport"])
    assert not reaches
    assert why == "tag condition fails: needs all of news, sport, live; missing news, live"


def test_explain_says_why_an_event_reaches_a_webhook():
    assert explain() == (True, "subscribed, no tag condition")
    assert explain(events=["*"], tags=["news"], resource_tags=["news"]) == (
        True, "matches tag condition (any of news)")
