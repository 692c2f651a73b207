"""Deduplication on Spark, with Spark doing the shuffle.

The pipeline is the CLI's, cut where a cluster needs it cut:

1. ``mapInArrow`` fingerprints each partition in Rust (one thread per task:
   Spark runs a task per core already);
2. exact families: ``groupBy`` on the 16-byte hash of the normalised text;
3. LSH: ``posexplode`` the band hashes, ``groupBy(band, hash)``, and turn
   each bucket into candidate pairs with the library's own rule (each of the
   first ``representatives`` members with every later one);
4. each pair is checked in Rust (signature estimate, then exact Jaccard of
   the shingle sets) after joining both sides' fingerprints;
5. connected components of the passing pairs by min-label propagation with
   pointer jumping, in DataFrames, until no label changes.

With ``judge="story"`` (see :func:`_story_edges`), template statistics are
counted per partition and merged by ``treeReduce``, containment candidates
join LSH's, pairs are judged as stories in Rust, and components of three or
more are split into stars in Rust, one component in one task.

Nothing is collected to the driver but counts (and, under ``judge="story"``,
the merged template statistics, broadcast from there). Documents are ordered by
``order_col`` (default: ``id_col``): "first" means smallest there, as
"first" means earliest in the input on the command line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from . import (
    _MAX_ROUNDS,
    BUCKET_CAP,
    JUDGE,
    KEEP,
    NGRAM,
    REPRESENTATIVES,
    SEED,
    SLOTS,
    THRESHOLD,
    UNIT,
    VERIFICATION,
    Judge,
    Keep,
    LookalikeError,
    Unit,
    Verification,
    _add_counts,
    _check_pipeline,
    _chunks,
    _lookalike,
)


def dedup(
    df: Any,
    text_col: str = "text",
    id_col: str = "id",
    *,
    threshold: float = THRESHOLD,
    ngram: int = NGRAM,
    unit: Unit = UNIT,
    slots: int = SLOTS,
    seed: int = SEED,
    keep: Keep = KEEP,
    verification: Verification = VERIFICATION,
    representatives: int = REPRESENTATIVES,
    bucket_cap: int = BUCKET_CAP,
    order_col: str | None = None,
    judge: Judge = JUDGE,
    time_col: str | None = None,
) -> Any:
    """Return ``df`` with two more columns: ``group`` (the ``id_col`` value of
    the group's first document; a document without duplicates is its own
    group) and ``kept`` (bool). Settings as in :func:`lookalike.dedup`
    (``time_col`` is its ``time_column``). Ids must be unique (checked)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    order_col = _check_pipeline(
        df.columns, text_col, id_col, order_col, keep, threshold, slots, judge, time_col,
        verification,
    )
    story = judge == "story"

    docs = df.select(
        F.col(id_col).alias("_id"), F.col(order_col).alias("_order"),
        F.col(text_col).alias("_text"),
        *([_seconds(df, time_col).alias("_time")] if story and time_col else []),
    )
    if docs.count() != docs.select("_id").distinct().count():
        raise LookalikeError(f"column {id_col!r} has duplicate values: ids must be unique")
    # After a range-partitioned sort, monotonically_increasing_id grows with
    # the sort order: a position for "first" without a single-partition window.
    # The positions are pinned with a checkpoint: `docs` is read twice (to
    # fingerprint, and to map positions back to ids), and each evaluation may
    # partition the sort differently (adaptive execution coalesces
    # partitions by size), giving other positions. Unpinned, the two readings
    # disagreed on a 30,000-document corpus and most pairs were lost.
    docs = (
        docs.orderBy("_order", "_id")
        .withColumn("_pos", F.monotonically_increasing_id())
        .drop("_order")
        .localCheckpoint()
    )

    int_list = T.ArrayType(T.LongType())
    fp_schema = T.StructType([
        T.StructField("_pos", T.LongType()),
        T.StructField("length", T.LongType()),
        T.StructField("exact", T.BinaryType()),
        T.StructField("shingles", int_list),
        T.StructField("signature", int_list),
        T.StructField("band_hashes", int_list),
    ])
    outputs = ["length", "exact", "shingles", "signature", "band_hashes"]
    if verification == "signature":
        # Pairs are checked on signatures alone: no shingle sets to ship.
        outputs.remove("shingles")
    if story:
        outputs += ["facts", "time"]
        fp_schema = T.StructType([
            *fp_schema.fields,
            T.StructField("facts", int_list),
            T.StructField("time", T.LongType()),
        ])
    timed = story and time_col is not None
    inputs = ["_pos", "_text", *(["_time"] if timed else [])]

    def fingerprint(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = _lookalike.fingerprint(
                batch.select(inputs), "_text", outputs, threshold, ngram, unit,
                slots, seed, "_time" if timed else None,
            )
            if "shingles" not in outputs:
                empty = pa.array([[]] * table.num_rows, pa.list_(pa.int64()))
                table = table.append_column("shingles", empty)
            yield from table.select(fp_schema.names).to_batches()

    fp = docs.mapInArrow(fingerprint, fp_schema).localCheckpoint()

    # Exact families: every member joins the family's first; only the first
    # goes on to LSH (documents without words take part in neither).
    words = fp.filter(F.col("signature").isNotNull())
    first = words.groupBy("exact").agg(F.min("_pos").alias("_first"))
    families = words.join(first, "exact")
    family_edges = families.filter(F.col("_pos") != F.col("_first")).select(
        F.col("_first").alias("a"), F.col("_pos").alias("b")
    )
    heads = families.filter(F.col("_pos") == F.col("_first")).drop("_first")

    members = (
        heads.select("_pos", F.posexplode("band_hashes").alias("band", "key"))
        .groupBy("band", "key")
        .agg(F.collect_list("_pos").alias("members"))
        .filter(F.size("members") >= 2)
    )
    pair_schema = T.StructType([T.StructField("a", T.LongType()), T.StructField("b", T.LongType())])

    def pairs_of(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table, _capped = _lookalike.bucket_pairs(
                batch.select(["members"]), "members", representatives, bucket_cap
            )
            yield from table.to_batches()

    pairs = members.select("members").mapInArrow(pairs_of, pair_schema).distinct()

    sides = heads.select("_pos", "signature", "shingles")
    side_a = sides.select(
        F.col("_pos").alias("a"), F.col("signature").alias("signature_a"),
        F.col("shingles").alias("shingles_a"),
    )
    side_b = sides.select(
        F.col("_pos").alias("b"), F.col("signature").alias("signature_b"),
        F.col("shingles").alias("shingles_b"),
    )
    candidates = pairs.join(side_a, "a").join(side_b, "b").select(
        "a", "b", "signature_a", "shingles_a", "signature_b", "shingles_b"
    )
    checked_schema = T.StructType(
        [*pair_schema.fields, T.StructField("similarity", T.DoubleType())]
    )

    def check(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = _lookalike.check_pairs(batch, threshold, 0.15, verification)
            yield from table.select(["a", "b", "similarity"]).to_batches()

    if story:
        templates = _templates(heads)
        verified = _story_edges(heads, pairs, templates, threshold)
    else:
        verified = (
            candidates.mapInArrow(check, checked_schema)
            .filter(F.col("similarity") >= threshold)
            .select("a", "b")
        )
    edges = verified.unionByName(family_edges).localCheckpoint()
    labels = _components(edges)
    if story:
        labels = _stars(fp, labels, templates)

    # Each document's group root (smallest position), then the kept member.
    placed = fp.select("_pos", "length").join(labels, F.col("_pos") == F.col("v"), "left")
    placed = placed.select(
        "_pos", "length", F.coalesce(F.col("label"), F.col("_pos")).alias("_root")
    )
    if keep == "first":
        choice = F.min("_pos")
    else:
        # Longest (or shortest) first; ties to the earliest, as the CLI does.
        sign = -1 if keep == "longest" else 1
        choice = F.min(F.struct((F.col("length") * sign).alias("l"), F.col("_pos").alias("p")))["p"]
    chosen = placed.groupBy("_root").agg(choice.alias("_kept"))
    ids = docs.select("_pos", "_id")
    root_ids = ids.select(F.col("_pos").alias("_root"), F.col("_id").alias("group"))
    result = (
        placed.join(chosen, "_root")
        .join(root_ids, "_root")
        .join(ids, "_pos")
        .select(
            F.col("_id").alias("_gid"), "group",
            (F.col("_pos") == F.col("_kept")).alias("kept"),
        )
    )
    return df.join(result, df[id_col] == result["_gid"]).drop("_gid")


def _seconds(df: Any, name: str) -> Any:
    """Column ``name`` as the engine reads times, whatever the session's
    time zone: timestamps as seconds since 1970, naive timestamps as UTC
    and dates as midnight UTC (as the CLI reads them); integer seconds and
    RFC 3339 text pass as they are."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kind = df.schema[name].dataType
    if isinstance(kind, T.TimestampNTZType):
        # Naive timestamps reach the engine as Arrow's, read as UTC there.
        return F.col(name)
    if isinstance(kind, T.DateType):
        return F.date_format(F.col(name), "yyyy-MM-dd")
    if isinstance(kind, T.TimestampType):
        return F.unix_timestamp(F.col(name))
    return F.col(name)


def _templates(heads: Any) -> Any:
    """The story judgment's template statistics of ``heads`` (one row per
    exact family), broadcast to the tasks that judge: a sketch per
    partition, sized from the whole collection's shingle count, cut into
    chunks that are merged chunk by chunk across partitions
    (``reduceByKey``; merging commutes, so the result is the sketch one
    process counts); the driver receives one merged sketch. None when no
    document has words."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    total, documents = heads.select(F.sum(F.size("shingles")), F.count("*")).first()
    if not documents:
        return None
    schema = pa.schema([("shingles", pa.list_(pa.int64())), ("facts", pa.list_(pa.int64()))])
    chunk_schema = T.StructType([
        T.StructField("chunk", T.LongType()), T.StructField("counts", T.BinaryType()),
    ])

    def count(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows = (b.select(schema.names) for b in batches)
        stream = pa.RecordBatchReader.from_batches(schema, rows)
        sketch = _lookalike.Templates.count(stream, total or 0)
        if sketch.documents:
            parts = _chunks(sketch.counts)
            yield pa.RecordBatch.from_pydict({
                "chunk": [c for c, _ in parts], "counts": [b for _, b in parts],
            })

    merged = (
        heads.select("shingles", "facts")
        .mapInArrow(count, chunk_schema)
        .rdd.map(lambda r: (r[0], bytes(r[1])))
        .reduceByKey(_add_counts)
        .collect()
    )
    counts = b"".join(b for _, b in sorted(merged))
    return heads.sparkSession.sparkContext.broadcast(_lookalike.Templates(counts, documents))


def _story_edges(heads: Any, lsh_pairs: Any, templates: Any, threshold: float) -> Any:
    """The pairs judged versions of one story, as ``dedup --judge story``
    finds them: LSH's candidates (the signature estimate may rule them out)
    and containment candidates (a document holding enough of another's
    containment keys), each judged in Rust on both sides' shingles, facts
    and times."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    def tpl() -> Any:
        return templates.value if templates is not None else None

    key_schema = T.StructType([
        T.StructField("key", T.LongType()), T.StructField("a", T.LongType()),
    ])

    def keys_of(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        t = tpl()
        for batch in batches:
            table = _lookalike.containment_keys(batch.select(["_pos", "shingles"]), "_pos", t)
            yield from table.rename_columns(["key", "a"]).to_batches()

    keys = heads.select("_pos", "shingles").mapInArrow(keys_of, key_schema).localCheckpoint()
    key_count = keys.groupBy("a").agg(F.count("*").alias("keys"))
    held = (
        heads.select(F.col("_pos").alias("b"), F.explode("shingles").alias("key"))
        .join(keys, "key")
        .filter(F.col("a") != F.col("b"))
        .groupBy("a", "b")
        .agg(F.count("*").alias("held"))
        .join(key_count, "a")
    )
    enough_schema = T.StructType([
        T.StructField("a", T.LongType()), T.StructField("b", T.LongType()),
        T.StructField("enough", T.BooleanType()),
    ])

    def enough(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from _lookalike.holds_enough(batch).select(["a", "b", "enough"]).to_batches()

    contained = (
        held.select("a", "b", "held", "keys")
        .mapInArrow(enough, enough_schema)
        .filter("enough")
        .select(F.least("a", "b").alias("a"), F.greatest("a", "b").alias("b"))
        .distinct()
        .withColumn("lsh", F.lit(False))
    )
    pairs = lsh_pairs.withColumn("lsh", F.lit(True)).unionByName(contained)
    sides = heads.select("_pos", "signature", "shingles", "facts", "time")

    def side(x: str) -> Any:
        return sides.select(
            F.col("_pos").alias(x),
            *(F.col(c).alias(f"{c}_{x}") for c in ("signature", "shingles", "facts", "time")),
        )

    candidates = pairs.join(side("a"), "a").join(side("b"), "b")
    same_schema = T.StructType([
        T.StructField("a", T.LongType()), T.StructField("b", T.LongType()),
        T.StructField("same", T.BooleanType()),
    ])

    def judged(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        t = tpl()
        for batch in batches:
            table = _lookalike.judge_pairs(batch, t, threshold, 0.15)
            yield from table.select(["a", "b", "same"]).to_batches()

    return candidates.mapInArrow(judged, same_schema).filter("same").select("a", "b")


def _stars(fp: Any, labels: Any, templates: Any) -> Any:
    """Group integrity (``lookalike::judge::stars``): each component of three
    or more documents is split into stars, every member a version of its
    star's first; returns ``(v, label)`` with label = the star's first
    member. One component is handled by one task (its members' fingerprints
    in memory there)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    sizes = labels.groupBy("label").agg(F.count("*").alias("_size"))
    sized = labels.join(sizes, "label")
    small = sized.filter(F.col("_size") < 3).select("v", "label")
    members = (
        sized.filter(F.col("_size") >= 3)
        .join(fp.select("_pos", "exact", "shingles", "facts", "time"),
              F.col("v") == F.col("_pos"))
        .select("label", "_pos", "exact", "shingles", "facts", "time")
        .repartition("label")
    )
    star_schema = T.StructType([
        T.StructField("v", T.LongType()), T.StructField("label", T.LongType()),
    ])

    def split(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # A partition holds whole components: split them all at once.
        whole = list(batches)
        if not whole:
            return
        t = templates.value if templates is not None else None
        table = _lookalike.stars(pa.Table.from_batches(whole), t)
        yield from table.rename_columns(["v", "label"]).to_batches()

    return small.unionByName(members.mapInArrow(split, star_schema)).localCheckpoint()


def _components(edges: Any) -> Any:
    """Connected components of an edge list ``(a, b)`` as ``(v, label)`` with
    label = the smallest vertex of v's component, for every vertex on an
    edge. Min-label propagation over edges, then pointer jumping (each label
    takes its own label's label), until a round changes nothing: labels only
    fall, stay inside the component, and the component's smallest vertex
    keeps its own, so the fixed point is the minimum."""
    from pyspark.sql import functions as F

    both = edges.select("a", "b").unionByName(
        edges.select(F.col("b").alias("a"), F.col("a").alias("b"))
    ).distinct().localCheckpoint()
    labels = both.groupBy(F.col("a").alias("v")).agg(
        F.least(F.col("a"), F.min("b")).alias("label")
    ).localCheckpoint()
    for _ in range(_MAX_ROUNDS):
        proposed = (
            both.join(labels.select(F.col("v").alias("b"), "label"), "b")
            .groupBy(F.col("a").alias("v"))
            .agg(F.min("label").alias("proposed"))
        )
        stepped = labels.join(proposed, "v").select(
            "v", F.least("label", "proposed").alias("label")
        )
        jumped = (
            stepped.alias("s")
            .join(stepped.alias("t"), F.col("s.label") == F.col("t.v"))
            .select(F.col("s.v").alias("v"), F.least("s.label", "t.label").alias("label"))
            .localCheckpoint()
        )
        changed = (
            jumped.alias("n").join(labels.alias("o"), "v")
            .filter(F.col("n.label") != F.col("o.label"))
            .count()
        )
        labels = jumped
        if changed == 0:
            return labels
    raise LookalikeError(
        f"connected components did not settle in {_MAX_ROUNDS} rounds; please report this"
    )
