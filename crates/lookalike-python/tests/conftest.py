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
