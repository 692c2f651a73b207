"""Spark (local[2]) and Ray (local) find exactly the CLI's groups."""

from __future__ import annotations

import pytest

from test_core import cli_groups

import lookalike


def spark_groups(rows) -> tuple[set, set]:
    by_group: dict = {}
    kept = set()
    for r in rows:
        by_group.setdefault(r["group"], set()).add(r["id"])
        if r["kept"]:
            kept.add(r["id"])
    return {frozenset(m) for m in by_group.values() if len(m) > 1}, kept


@pytest.mark.parametrize(
    "settings,flags",
    [({}, []), ({"threshold": 0.8, "keep": "longest"}, ["--threshold", "0.8", "--keep", "longest"])],
)
def test_spark_finds_the_cli_groups(spark, cli, corpus, corpus_file, settings, flags):
    # Several partitions, so buckets and pairs really cross the shuffle.
    df = spark.createDataFrame(corpus).repartition(3)
    out = lookalike.spark.dedup(df, "text", "id", **settings)
    assert set(out.columns) == {"id", "text", "group", "kept"}
    rows = out.select("id", "group", "kept").collect()
    assert len(rows) == len(corpus)
    want = cli_groups(cli, corpus_file, [d["id"] for d in corpus], *flags)
    assert want[0]
    assert spark_groups(rows) == want


def test_spark_refuses_duplicate_ids(spark):
    df = spark.createDataFrame([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    with pytest.raises(lookalike.LookalikeError, match="duplicate"):
        lookalike.spark.dedup(df)


def test_ray_finds_the_cli_groups(ray_session, cli, corpus, corpus_file):
    import ray.data

    ds = ray.data.from_items(corpus).repartition(3)
    out = lookalike.ray.dedup(ds, "text", "id")
    rows = out.select_columns(["id", "group", "kept"]).take_all()
    assert len(rows) == len(corpus)
    want = cli_groups(cli, corpus_file, [d["id"] for d in corpus])
    assert spark_groups(rows) == want
