"""Policy engine vs Presidio (blank spaCy) and scrubadub on one generated en/ar/he corpus: speed, memory, F1.

Each engine runs in its own child process (so peak RSS is its own), single-threaded, on the same posts.
Presidio and scrubadub are benchmark-only dependencies (the `bench` extra); this script installs nothing.

    .venv/bin/python benches/policy.py [--posts 3000] [--seed 20250105] [--passes 3]
    .venv/bin/python benches/policy.py --independent [--errors 20]

--independent scores govern alone, in this process, on the independent data of issue 13 (tests/data/policy/):
the false-alarm corpus of ordinary en/ar/he posts (right answer: allow), the peer samples from gitleaks, Presidio,
detect-secrets and python-stdnum (precision/recall/F1 per entity and per secret kind), the issue's own examples,
and govern's speed on the ordinary posts and on a realistic mix (95% ordinary, 5% from the dense corpus).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import string
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from tests.support.policy_corpus import SCORED_ENTITIES, generate, score  # noqa: E402

PRESIDIO_TO_GOVERN = {"EMAIL_ADDRESS": "EMAIL_ADDRESS", "PHONE_NUMBER": "PHONE_NUMBER", "CREDIT_CARD": "PAYMENT_CARD",
                      "IBAN_CODE": "IBAN", "US_SSN": "NATIONAL_ID", "US_PASSPORT": "PASSPORT"}
SCRUBADUB_TO_GOVERN = {"email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER", "credit_card": "PAYMENT_CARD",
                       "social_security_number": "NATIONAL_ID", "credential": "SECRET"}
SUPPORTED = {"govern": set(SCORED_ENTITIES), "govern+10k": set(SCORED_ENTITIES),
             "presidio": set(PRESIDIO_TO_GOVERN.values()), "scrubadub": set(SCRUBADUB_TO_GOVERN.values())}


def _govern(lexicon_terms: int):
    from govern.policy.engine.evaluation import compile_packs, evaluate
    from govern.policy.engine.packs import load_packs

    rng = random.Random(99)
    extra = [("confidentiality.codename", "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 14))))
             for _ in range(lexicon_terms)]
    compiled = compile_packs(load_packs(ROOT / "policies"), extra_terms=extra)

    def detect(text: str) -> list[tuple[str, int, int]]:
        return [(f.entity, f.start, f.end) for f in evaluate(compiled, text).findings]

    return detect


def _presidio():
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class BlankSpacyEngine(SpacyNlpEngine):
        """Presidio on spacy.blank("en"): tokenizer only, no model download (works offline)."""

        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank"}])

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacyEngine()
    engine.load()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])

    def detect(text: str) -> list[tuple[str, int, int]]:
        return [(PRESIDIO_TO_GOVERN[r.entity_type], r.start, r.end) for r in analyzer.analyze(text, language="en")
                if r.entity_type in PRESIDIO_TO_GOVERN]

    return detect


def _scrubadub():
    import scrubadub

    scrubber = scrubadub.Scrubber()

    def detect(text: str) -> list[tuple[str, int, int]]:
        return [(SCRUBADUB_TO_GOVERN[f.type], f.beg, f.end) for f in scrubber.iter_filth(text)
                if f.type in SCRUBADUB_TO_GOVERN]

    return detect


def realistic_mix(dense: list[str], count: int = 4000) -> list[str]:
    """95% ordinary posts (tests/data/policy/ordinary_posts.jsonl), 5% from the dense corpus: real posts rarely carry
    personal data."""
    from tests.support.policy_independent import load_ordinary

    ordinary = [p.text for p in load_ordinary()]
    return [dense[i % len(dense)] if i % 20 == 0 else ordinary[i % len(ordinary)] for i in range(count)]


def run_child(engine: str, posts_count: int, seed: int, passes: int) -> dict:
    """Measure one engine in this process: warm-up, then every post timed on its own; then the realistic mix."""
    posts = generate(posts_count, seed)
    detect = {"govern": lambda: _govern(0), "govern+10k": lambda: _govern(10_000), "presidio": _presidio,
              "scrubadub": _scrubadub}[engine]()
    mix = realistic_mix([post.text for post in posts])
    for text in [post.text for post in posts] + mix:  # one untimed pass: every engine's lazy caches filled (steady state)
        detect(text)
    elapsed, latencies, predictions = float("inf"), [], {}
    # The fastest pass stands: this machine's neighbours come and go, the code does not. A pass is timed in CPU time
    # (process_time): on a shared machine the wall clock also counts the time spent waiting for a core.
    for _ in range(passes):
        pass_latencies = []
        started = time.process_time()
        for post in posts:
            t0 = time.perf_counter()
            predictions[post.id] = detect(post.text)
            pass_latencies.append(time.perf_counter() - t0)
        took = time.process_time() - started
        if took < elapsed:
            elapsed, latencies = took, pass_latencies
    mix_elapsed = float("inf")
    for _ in range(passes):
        started = time.process_time()
        for text in mix:
            detect(text)
        mix_elapsed = min(mix_elapsed, time.process_time() - started)
    result = score(posts, predictions)
    latencies.sort()
    return {
        "engine": engine, "posts": len(posts), "posts_per_s": len(posts) / elapsed,
        "mix_posts_per_s": len(mix) / mix_elapsed,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "entities": {e: [s.precision, s.recall, s.f1] for e, s in result.per_entity.items()},
        "overall": [result.overall.precision, result.overall.recall, result.overall.f1],
    }


def _measure(engine: str, posts: int, seed: int, passes: int) -> dict | str:
    command = [sys.executable, __file__, "--child", engine, "--posts", str(posts), "--seed", str(seed),
               "--passes", str(passes)]
    # taskset pins the child to one core when it is available; the engines are single-threaded anyway.
    if subprocess.run(["which", "taskset"], capture_output=True).returncode == 0:
        command = ["taskset", "-c", "0", *command]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _pct(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f}%)" if whole else "0"


def _prf_row(label: str, s) -> str:
    return (f"| {label} | {s.tp + s.fn} | {s.tp} | {s.fp} | {s.fn} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |")


def _speed(engine, texts: list[str], passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for text in texts:
            engine(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def run_independent(show_errors: int, passes: int) -> int:
    """govern on the independent data of issue 13: tables for docs/benchmarks.md, and the targets."""
    from tests.support.policy_independent import (
        PEER_ENTITIES, check_issue_examples, govern_engine, load_issue_examples, load_ordinary, load_peer, score_ordinary,
        score_peer,
    )

    engine = govern_engine()
    posts = load_ordinary()
    ordinary = score_ordinary(posts, engine)
    print(f"## Policy engine on independent data (issue 13) — govern only, packs in policies/\n")
    print(f"### False-alarm corpus: {ordinary.posts:,} ordinary posts (right answer: allow)\n")
    print("| language | posts | blocked | flagged (any finding) |")
    print("| --- | ---: | ---: | ---: |")
    for lang in ("en", "ar", "he"):
        c = ordinary.by_lang[lang]
        print(f"| {lang} | {c['posts']:,} | {_pct(c['blocked'], c['posts'])} | {_pct(c['flagged'], c['posts'])} |")
    print(f"| **all** | {ordinary.posts:,} | {_pct(ordinary.blocked, ordinary.posts)} | {_pct(ordinary.flagged, ordinary.posts)} |")
    print("\nDecisions: " + ", ".join(f"{k} {v:,}" for k, v in ordinary.decisions.most_common()))
    print("\n| rule fired (entity/kind, action) | posts | examples |")
    print("| --- | ---: | --- |")
    for key, count in ordinary.by_rule.most_common(12):
        example = "; ".join(e.split(": ", 1)[1].split(" in ")[0] for e in ordinary.examples[key][:3])
        print(f"| {key} | {count} | {example.replace('|', '/')} |")

    peer = load_peer()
    samples = [s for lines in peer.values() for s in lines]
    result = score_peer(samples, engine)
    counts = {name: (len(lines), sum(s.label == "tp" for s in lines)) for name, lines in peer.items()}
    print(f"\n### Peer samples: {len(samples)} labelled lines (" +
          ", ".join(f"{name} {n} ({tp} tp)" for name, (n, tp) in counts.items()) + ")\n")
    print("| entity | gold | tp | fp | fn | precision | recall | F1 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for entity in PEER_ENTITIES:
        if entity in result.per_entity:
            print(_prf_row(entity, result.per_entity[entity]))
    for entity, s in result.per_entity.items():
        if entity not in PEER_ENTITIES:
            print(_prf_row(f"{entity} (not a peer entity: false alarms only)", s))
    overall = result.overall()
    print(_prf_row("**all claimed entities**", overall))
    print("\n| SECRET kind | gold | tp | fp | fn | precision | recall | F1 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in sorted(result.per_kind):
        print(_prf_row(kind, result.per_kind[kind]))
    print("\n| source | gold | tp | fp | fn | precision | recall | F1 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, s in result.per_source.items():
        print(_prf_row(name, s))
    matched = overall.tp
    print(f"\nSpans: {overall.exact} of {matched} matches are exact.")
    if result.disputed:
        print("\nScored apart (the peers disagree and issue 13 takes a side; tests/support/policy_independent.DISPUTED):\n")
        for line in result.disputed:
            print(f"- {line}")

    verdicts = check_issue_examples(load_issue_examples(), engine)
    print(f"\n### Issue 13's own examples: {sum(v.ok for v in verdicts)} of {len(verdicts)} right\n")
    for v in verdicts:
        if not v.ok:
            text = v.sample.text.replace("\n", "\\n")
            text = text if len(text) <= 70 else text[:67] + "..."
            want = "allow" if v.sample.decision == "allow" else (
                f"{v.sample.entity}{'/' + v.sample.kind if v.sample.kind else ''}" if v.sample.label == "tp"
                else f"no {v.sample.entity}")
            print(f"- `{text}` → want {want}; got {v.got[:140]}")

    dense = [p.text for p in generate(2000, 20250105)]
    ordinary_texts = [p.text for p in posts]
    mix = realistic_mix(dense)
    for text in ordinary_texts[:50]:
        engine(text)
    print("\n### Speed (govern, this process, fastest of %d passes)\n" % passes)
    print("| texts | posts | posts/s |")
    print("| --- | ---: | ---: |")
    print(f"| ordinary posts | {len(ordinary_texts):,} | {_speed(engine, ordinary_texts, passes):,.0f} |")
    print(f"| realistic mix (95% ordinary, 5% dense corpus) | {len(mix):,} | {_speed(engine, mix, passes):,.0f} |")
    print(f"| dense corpus (seed 20250105) | {len(dense):,} | {_speed(engine, dense, passes):,.0f} |")

    worst_kind = min(((s.recall, k) for k, s in result.per_kind.items()), default=(1.0, "-"))
    print("\n### Targets (issue 13)\n")
    for label, ok, value in (
            ("ordinary posts: 0 blocked", ordinary.blocked == 0, str(ordinary.blocked)),
            ("ordinary posts: <= 1% flagged", ordinary.flagged_rate <= 0.01, f"{100 * ordinary.flagged_rate:.1f}%"),
            ("peer samples: F1 >= 0.95 over the claimed entities", overall.f1 >= 0.95, f"{overall.f1:.3f}"),
            ("peer samples: every secret kind recall >= 0.90", worst_kind[0] >= 0.90,
             f"lowest {worst_kind[1]} {worst_kind[0]:.3f}"),
            ("issue examples all right", all(v.ok for v in verdicts), f"{sum(v.ok for v in verdicts)}/{len(verdicts)}")):
        print(f"- {'PASS' if ok else 'FAIL'} {label}: {value}")
    if show_errors:
        print(f"\n### First {show_errors} peer-sample errors\n")
        for line in result.errors[:show_errors]:
            print(f"- {line[:200]}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20250105)
    parser.add_argument("--passes", type=int, default=3, help="timed passes per engine; the fastest is reported")
    parser.add_argument("--child")
    parser.add_argument("--independent", action="store_true",
                        help="score govern on the independent data of issue 13 (tests/data/policy/) instead")
    parser.add_argument("--errors", type=int, default=0, help="with --independent: list this many peer-sample errors")
    args = parser.parse_args()
    if args.independent:
        return run_independent(args.errors, args.passes)
    if args.child:
        print(json.dumps(run_child(args.child, args.posts, args.seed, args.passes)))
        return 0

    # Side by side: every round runs each engine once (one timed pass in a fresh child), and each engine's fastest
    # round stands, so a busy neighbour during one engine's turn does not decide the ratio.
    results, failures = {}, {}
    for _ in range(args.passes):
        for engine in ("govern", "govern+10k", "presidio", "scrubadub"):
            if engine in failures:
                continue
            measured = _measure(engine, args.posts, args.seed, 1)
            if isinstance(measured, str):
                failures[engine] = measured
            elif engine not in results:
                results[engine] = measured
            else:
                best = results[engine]
                best["posts_per_s"] = max(best["posts_per_s"], measured["posts_per_s"])
                best["mix_posts_per_s"] = max(best["mix_posts_per_s"], measured["mix_posts_per_s"])
                best["p99_ms"] = min(best["p99_ms"], measured["p99_ms"])
                best["peak_rss_mb"] = max(best["peak_rss_mb"], measured["peak_rss_mb"])
    print(f"## Policy engine benchmark — {args.posts} posts (en/ar/he, seed {args.seed}), one core, "
          f"fastest of {args.passes} interleaved rounds\n")
    print("| engine | dense posts/s | realistic mix posts/s | p99 ms/post | peak RSS MB | precision | recall | F1 (all entities) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        p, rc, f1 = r["overall"]
        print(f"| {name} | {r['posts_per_s']:,.0f} | {r['mix_posts_per_s']:,.0f} | {r['p99_ms']:.2f} | {r['peak_rss_mb']:.0f} "
              f"| {p:.3f} | {rc:.3f} | {f1:.3f} |")
    for name, reason in failures.items():
        print(f"| {name} | not run: {reason} | | | | | | |")
    names = list(results)
    print("\n### F1 per entity (— = the engine has no detector for it)\n")
    print("| entity | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for entity in SCORED_ENTITIES:
        cells = [_fmt(results[n]["entities"][entity][2] if entity in SUPPORTED[n] else None) for n in names]
        print(f"| {entity} | " + " | ".join(cells) + " |")
    print("\n### Targets\n")
    govern = results.get("govern")
    if govern:
        worst = min((v[2], e) for e, v in govern["entities"].items())
        checks = [("F1 overall >= 0.97", govern["overall"][2] >= 0.97, f"{govern['overall'][2]:.4f}"),
                  ("F1 per entity >= 0.95", worst[0] >= 0.95, f"lowest {worst[1]} {worst[0]:.4f}"),
                  ("peak RSS < 200 MB", govern["peak_rss_mb"] < 200, f"{govern['peak_rss_mb']:.0f} MB")]
        if "presidio" in results:
            ratio = govern["posts_per_s"] / results["presidio"]["posts_per_s"]
            checks.append(("dense corpus posts/s >= 15x Presidio (issue 13)", ratio >= 15, f"{ratio:.1f}x"))
            mix_ratio = govern["mix_posts_per_s"] / results["presidio"]["mix_posts_per_s"]
            checks.append(("realistic mix posts/s, reported", True, f"{mix_ratio:.1f}x Presidio"))
        if "govern+10k" in results:
            slowdown = govern["posts_per_s"] / results["govern+10k"]["posts_per_s"]
            checks.append(("10,000-term lexicon adds < 2x time", slowdown < 2, f"{slowdown:.2f}x"))
        for label, ok, value in checks:
            print(f"- {'PASS' if ok else 'FAIL'} {label}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
