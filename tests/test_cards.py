"""Claim cards (R6): every claim has a complete card, its settings exist at every scale, and
docs/claim-cards.md is what the registry and the config generate."""

from dataclasses import fields

import pytest

from deeplimits.config import load_config
from deeplimits.docs import CARD_FIELDS, CARDS_PAGE, claim_cards_page
from deeplimits.registry import CARDS, CLAIMS, SCALES, Card, analysis_of


def card_problems(card: Card) -> list[str]:
    """Missing, empty, 'n/a' or duplicated fields of one card."""
    problems = []
    texts = {name: getattr(card, name, None) for name in CARD_FIELDS}
    for name, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{name}: missing or empty")
        elif text.strip().lower() in ("n/a", "na", "none", "-", "tbd", "todo"):
            problems.append(f"{name}: {text!r} says nothing")
    seen = {}
    for name, text in texts.items():
        if isinstance(text, str) and text.strip() and text in seen:
            problems.append(f"{name}: the same text as {seen[text]}")
        seen.setdefault(text, name)
    return problems


def test_every_claim_has_a_complete_card():
    assert set(CARDS) == set(CLAIMS)
    assert {cid: card_problems(card) for cid, card in CARDS.items() if card_problems(card)} == {}


@pytest.mark.parametrize("bad, expected", [
    ({"control": ""}, "control: missing or empty"),
    ({"budget": "n/a"}, "budget: 'n/a' says nothing"),
    ({"interval": "same"}, None),
])
def test_card_check_finds_what_is_wrong(bad, expected):
    base = {f.name: f"text {i}" for i, f in enumerate(fields(Card)) if f.name in CARD_FIELDS}
    card = Card(**{**base, **bad})
    if expected is None:  # two fields with one text
        card = Card(**{**base, "interval": "same", "draws": "same"})
        assert card_problems(card) == ["interval: the same text as draws"]
    else:
        assert card_problems(card) == [expected]


def test_the_settings_a_card_prints_exist_at_every_scale(repo):
    for scale in SCALES:
        experiments = load_config(repo / "config.yaml", {"scale": scale})["experiments"]
        for cid, card in CARDS.items():
            settings = experiments[analysis_of(CLAIMS[cid].analysis).experiment]
            assert set(card.values) <= set(settings), (cid, scale, set(card.values) - set(settings))


def test_the_cards_page_is_up_to_date(repo):
    assert (repo / CARDS_PAGE).read_text() == claim_cards_page(repo / "config.yaml"), \
        "docs/claim-cards.md is stale: run python -m deeplimits docs"
