"""Shared fixtures: the CLI binary, a corpus with planted near duplicates,
and real local Spark and Ray sessions."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def cli() -> Path:
    """The release binary that `cargo test --release` (run first by
    scripts/test) has built."""
    path = ROOT / "target" / "release" / "lookalike"
    if not path.exists():
        subprocess.run(
            ["cargo", "build", "--release", "--locked", "-p", "lookalike-cli"], cwd=ROOT, check=True
        )
    return path


def _edit(words: list[str], rate: float, rng: random.Random, vocabulary: list[str]) -> list[str]:
    """Delete, replace or insert about `rate` of the words."""
    out = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            continue
        if r < 2 * rate / 3:
            out.append(rng.choice(vocabulary))
            continue
        out.append(w)
        if r < rate:
            out.append(rng.choice(vocabulary))
    return out


def make_corpus(seed: int = 7) -> list[dict]:
    """The example news articles (written for this project), then copies of
    them edited at rates from 1% to 60% (similarities on both sides of any
    threshold), exact copies differing only in case and spacing, and an
    empty document. Ids are zero-padded in input order, so "first" means
    the same on the command line (input order) and on Spark and Ray (id
    order)."""
    rng = random.Random(seed)
    news = ROOT / "examples" / "news"
    texts = [p.read_text() for p in sorted(news.rglob("*.txt"))]
    vocabulary = sorted({w for t in texts for w in t.split()})
    docs = list(texts)
    for _ in range(3):
        for t in texts:
            rate = rng.choice([0.01, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6])
            docs.append(" ".join(_edit(t.split(), rate, rng, vocabulary)))
    for t in rng.sample(texts, 10):
        docs.append("\n".join(t.upper().split()))
    docs.append("")
    rng.shuffle(docs)
    return [{"id": f"d{i:04}", "text": t} for i, t in enumerate(docs)]


def make_site(seed: int = 3) -> list[dict]:
    """Every example article inside one site's frame (so plain Jaccard groups
    different articles), then versions of some: light edits (one or two
    of an article), excerpts (its first half in the frame; an eighth of it
    bare, which only containment candidates find) and exact copies, so that groups of three or more
    are split into stars; each page has a time within five days. Ids in
    input order, as in `make_corpus`."""
    rng = random.Random(seed)
    news = ROOT / "examples" / "news"
    articles = [p.read_text() for p in sorted(news.rglob("*.txt"))]
    top = ("The Harbour Times | Home | News | Business | Sport | Weather | Opinion | Letters "
           "| Subscribe | Sign in | Search our archive of stories and photographs since 1950")
    bottom = ("About us | Contact the newsroom | Advertise | Careers | Corrections | Privacy "
              "| Cookies | Terms | Follow us for breaking news and weather warnings across the "
              "coast. Copyright The Harbour Times. All rights reserved. Registered in Wales.")
    frame = [top + " " + bottom] * 3

    def page(text: str) -> str:
        return "\n".join([top, " ".join(frame) + " " + text, bottom, " ".join(frame)])

    def edit(text: str) -> str:
        words = text.split()
        words[rng.randrange(len(words))] = "indeed"
        return " ".join(words)

    docs = [page(t) for t in articles]
    for t in rng.sample(articles, 10):
        docs.append(page(edit(t)))
    for t in rng.sample(articles, 5):
        docs.append(page(edit(edit(t))))
    for t in rng.sample(articles, 5):
        words = t.split()
        docs.append(page(" ".join(words[: len(words) // 2])))
    for t in rng.sample(articles, 4):
        # A bare excerpt, without the frame: its Jaccard similarity with the
        # page is far under any threshold, so only containment finds it.
        words = t.split()
        docs.append(" ".join(words[: max(30, len(words) // 8)]))
    docs.extend(rng.sample(docs, 5))
    times = [f"2026-03-{1 + rng.randrange(5):02}T{rng.randrange(24):02}:00:00Z" for _ in docs]
    return [{"id": f"p{i:03}", "text": t, "timestamp": ts}
            for i, (t, ts) in enumerate(zip(docs, times, strict=True))]


@pytest.fixture(scope="session")
def site() -> list[dict]:
    return make_site()


@pytest.fixture(scope="session")
def site_file(site, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("site") / "site.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in site))
    return path


@pytest.fixture(scope="session")
def corpus() -> list[dict]:
    return make_corpus()


@pytest.fixture(scope="session")
def corpus_file(corpus, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in corpus))
    return path


@pytest.fixture(scope="session")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("lookalike-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def ray_session():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def seeds() -> list[Path]:
    path = SHARED / "seeds"
    if not path.is_dir():
        pytest.skip(f"SKIPPED: {path} is absent (the seeds live in ../shared)")
    return sorted(path.glob("*.txt"))
