"""The labelled en/ar/he corpus: precision, recall and F1 per entity through the real packs."""

from __future__ import annotations

from govern.policy.engine.evaluation import evaluate
from tests.support.policy_corpus import Planted, Post, generate, score


def predictions(compiled, posts):
    return {post.id: [(f.entity, f.start, f.end) for f in evaluate(compiled, post.text).findings] for post in posts}


def test_corpus_f1(compiled) -> None:
    posts = generate(3000, seed=11)
    result = score(posts, predictions(compiled, posts))
    summary = {e: (s.tp, s.fp, s.fn, round(s.f1, 3)) for e, s in result.per_entity.items()}
    assert result.overall.f1 >= 0.97, (summary, result.errors[:10])
    for entity, entity_score in result.per_entity.items():
        assert entity_score.tp >= 100, (entity, summary)  # every entity is really exercised
        assert entity_score.f1 >= 0.95, (entity, summary, result.errors[:10])


def test_corpus_is_seeded_and_offsets_are_exact() -> None:
    assert generate(50, seed=3) == generate(50, seed=3)
    posts = generate(300, seed=4)
    assert any(any("٠" <= ch <= "٩" for ch in p.text) for p in posts)
    assert any("\u200e" in p.text or "\u200f" in p.text for p in posts)
    for post in posts:
        for planted in post.entities:
            assert post.text[planted.start:planted.end].strip() == post.text[planted.start:planted.end]


def test_scorer_counts_and_span_rule() -> None:
    post = Post("x", "en", "call 0501234567 or mail a@b.co", (Planted("PHONE_NUMBER", 5, 15), Planted("EMAIL_ADDRESS", 24, 30)))
    perfect = score([post], {"x": [("PHONE_NUMBER", 5, 15), ("EMAIL_ADDRESS", 24, 30)]})
    assert perfect.overall.f1 == 1.0
    shifted = score([post], {"x": [("PHONE_NUMBER", 9, 15), ("EMAIL_ADDRESS", 0, 4)]})
    # 6/10 overlap passes the Jaccard 0.5 rule; the e-mail prediction elsewhere is a FP and its gold a FN
    assert (shifted.per_entity["PHONE_NUMBER"].tp, shifted.per_entity["EMAIL_ADDRESS"].fp,
            shifted.per_entity["EMAIL_ADDRESS"].fn) == (1, 1, 1)
    wrong_entity = score([post], {"x": [("IBAN", 5, 15)]})
    assert wrong_entity.per_entity["PHONE_NUMBER"].fn == 1 and wrong_entity.per_entity["IBAN"].fp == 1
