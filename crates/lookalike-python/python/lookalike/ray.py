"""Deduplication on Ray Data, with Ray doing the shuffle.

The same pipeline as :mod:`lookalike.spark`: fingerprints by
``map_batches`` (Rust, GIL released), exact families and LSH buckets by
``groupby``, candidate pairs by the library's own rule, pairs checked in Rust
after joining both sides' fingerprints, and connected components by
min-label propagation with pointer jumping over ``join`` until no label
changes. Nothing is collected to the driver but counts (and, under
``judge="story"``, the template statistics: merged there from one sketch per
block, then shared through the object store). Joins need polars.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

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
    dataset: Any,
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
    partitions: int = 4,
    judge: Judge = JUDGE,
    time_col: str | None = None,
) -> Any:
    """Return ``dataset`` with ``group`` (the ``id_col`` value of the group's
    first document) and ``kept`` (bool). Settings as in
    :func:`lookalike.dedup` (``time_col`` is its ``time_column``);
    ``partitions`` is the number of shuffle partitions of each join. Ids
    must be unique (checked)."""
    import ray
    import ray.data

    columns = dataset.columns()
    order_col = _check_pipeline(
        columns, text_col, id_col, order_col, keep, threshold, slots, judge, time_col,
        verification,
    )
    story = judge == "story"
    timed = story and time_col is not None

    def internal(batch: pa.Table) -> pa.Table:
        cols = {"_id": batch[id_col], "_order": batch[order_col], "_text": batch[text_col]}
        if timed:
            cols["_time"] = batch[time_col]
        return pa.table(cols)

    docs = dataset.map_batches(internal, batch_format="pyarrow")
    n = docs.count()
    if docs.groupby("_id").count().count() != n:
        raise LookalikeError(f"column {id_col!r} has duplicate values: ids must be unique")
    # A position for "first": the sorted blocks, in order, each numbered
    # from the count of rows in the blocks before it (only counts reach the
    # driver).
    blocks = docs.sort(["_order", "_id"]).materialize().to_arrow_refs()
    counts = ray.get([_rows.remote(b) for b in blocks])
    offsets = [sum(counts[:i]) for i in range(len(counts))]
    docs = ray.data.from_arrow_refs(
        [_numbered.remote(b, o) for b, o in zip(blocks, offsets, strict=True)]
    ).materialize()

    outputs = ["length", "exact", "shingles", "signature", "band_hashes"]
    if verification == "signature":
        outputs.remove("shingles")
    if story:
        outputs += ["facts", "time"]
    inputs = ["_pos", "_text", *(["_time"] if timed else [])]

    def fingerprint(batch: pa.Table) -> pa.Table:
        table = _lookalike.fingerprint(
            batch.select(inputs), "_text", outputs, threshold, ngram, unit, slots, seed,
            "_time" if timed else None,
        )
        if "shingles" not in outputs:
            table = table.append_column(
                "shingles", pa.array([[]] * table.num_rows, pa.list_(pa.int64()))
            )
        # The exact hash as hex text: a plain key for every shuffle.
        exact = pa.array([bytes(b).hex() for b in table["exact"].to_pylist()], pa.string())
        table = table.set_column(table.schema.get_field_index("exact"), "exact", exact)
        return table.drop_columns([c for c in inputs if c != "_pos"])

    fp = docs.map_batches(fingerprint, batch_format="pyarrow").materialize()
    def with_words(batch: pa.Table) -> pa.Table:
        return batch.filter(pc.is_valid(batch["signature"]))

    words = fp.map_batches(with_words, batch_format="pyarrow")

    def family(group: pa.Table) -> pa.Table:
        group = group.sort_by("_pos")
        return group.append_column(
            "_first", pa.array([group["_pos"][0].as_py()] * group.num_rows, pa.int64())
        )

    families = words.groupby("exact").map_groups(family, batch_format="pyarrow").materialize()

    def family_edges(batch: pa.Table) -> pa.Table:
        rest = batch.filter(pc.not_equal(batch["_pos"], batch["_first"]))
        return pa.table({"a": rest["_first"], "b": rest["_pos"]})

    head_columns = ["_pos", "signature", "shingles", "band_hashes"]
    if story:
        head_columns += ["facts", "time"]

    def heads_of(batch: pa.Table) -> pa.Table:
        return batch.filter(pc.equal(batch["_pos"], batch["_first"])).select(head_columns)

    exact_edges = families.map_batches(family_edges, batch_format="pyarrow")
    heads = families.map_batches(heads_of, batch_format="pyarrow").materialize()

    def explode(batch: pa.Table) -> pa.Table:
        # One row (band, key, _pos) per band of each document. numpy comes
        # with Ray; it is imported here so that `import lookalike` needs
        # only the package's declared dependencies.
        import numpy as np

        lists = batch["band_hashes"].combine_chunks()
        parents = pc.list_parent_indices(lists).to_numpy()
        offsets = lists.offsets.to_numpy()
        band = np.arange(len(parents)) - (offsets[parents] - offsets[0])
        return pa.table({
            "band": pa.array(band, pa.int64()),
            "key": pc.list_flatten(lists),
            "_pos": pc.take(batch["_pos"], pa.array(parents)),
        })

    def pairs_of(group: pa.Table) -> pa.Table:
        members = pa.table({"members": pa.array([group["_pos"].to_pylist()], pa.list_(pa.int64()))})
        table, _capped = _lookalike.bucket_pairs(members, "members", representatives, bucket_cap)
        return table

    pairs = (
        heads.map_batches(explode, batch_format="pyarrow")
        .groupby(["band", "key"])
        .map_groups(pairs_of, batch_format="pyarrow")
        .groupby(["a", "b"])
        .count()
        .select_columns(["a", "b"])
    )

    def side(suffix: str) -> Any:
        def rename(batch: pa.Table) -> pa.Table:
            return pa.table({
                suffix: batch["_pos"],
                f"signature_{suffix}": batch["signature"],
                f"shingles_{suffix}": batch["shingles"],
            })
        return heads.map_batches(rename, batch_format="pyarrow")

    candidates = pairs.join(side("a"), "inner", partitions, on=("a",)).join(
        side("b"), "inner", partitions, on=("b",)
    )

    def check(batch: pa.Table) -> pa.Table:
        table = _lookalike.check_pairs(batch, threshold, 0.15, verification)
        passed = pc.fill_null(pc.greater_equal(table["similarity"], threshold), False)
        return table.filter(passed).select(["a", "b"])

    if story:
        templates = _templates(heads)
        verified = _story_edges(heads, pairs, templates, threshold, partitions)
    else:
        verified = candidates.map_batches(check, batch_format="pyarrow")
    edges = verified.union(exact_edges).materialize()
    labels = _components(edges, partitions)
    if story:
        labels = _stars(fp, labels, templates, partitions)

    def lengths(batch: pa.Table) -> pa.Table:
        return batch.select(["_pos", "length"])

    placed = fp.map_batches(lengths, batch_format="pyarrow").join(
        labels.rename_columns({"v": "_pos"}), "left_outer", partitions, on=("_pos",)
    )
    ids = docs.select_columns(["_pos", "_id"])

    def choose(group: pa.Table) -> pa.Table:
        rows = sorted(zip(group["_pos"].to_pylist(), group["length"].to_pylist(), strict=True))
        if keep == "first":
            kept = rows[0][0]
        else:
            sign = -1 if keep == "longest" else 1
            kept = min(rows, key=lambda r: (sign * r[1], r[0]))[0]
        root = rows[0][0]
        return pa.table({
            "_pos": pa.array([r[0] for r in rows], pa.int64()),
            "_root": pa.array([root] * len(rows), pa.int64()),
            "kept": pa.array([r[0] == kept for r in rows], pa.bool_()),
        })

    def rooted(batch: pa.Table) -> pa.Table:
        label = (
            batch["label"]
            if "label" in batch.column_names
            else pa.nulls(batch.num_rows, pa.int64())
        )
        root = pc.coalesce(label, batch["_pos"])
        return pa.table({"_pos": batch["_pos"], "length": batch["length"], "_group_key": root})

    decided = (
        placed.map_batches(rooted, batch_format="pyarrow")
        .groupby("_group_key")
        .map_groups(choose, batch_format="pyarrow")
    )
    root_ids = ids.rename_columns({"_pos": "_root", "_id": "group"})
    result = (
        decided.join(root_ids, "inner", partitions, on=("_root",))
        .join(ids, "inner", partitions, on=("_pos",))
        .select_columns(["_id", "group", "kept"])
    )
    return dataset.join(result, "inner", partitions, on=(id_col,), right_on=("_id",))


def _templates(heads: Any) -> Any:
    """The story judgment's template statistics of ``heads`` (one row per
    exact family), put in the object store for the tasks that judge: a
    sketch per block, sized from the whole collection's shingle count, cut
    into chunks merged chunk by chunk (``groupby``; merging commutes, so
    the result is the sketch one process counts); the driver receives one
    merged sketch. None when no document has words."""
    import ray

    def size(batch: pa.Table) -> pa.Table:
        n = pc.sum(pc.list_value_length(batch["shingles"])).as_py() or 0
        return pa.table({
            "n": pa.array([n], pa.int64()), "d": pa.array([batch.num_rows], pa.int64()),
        })

    sizes = heads.map_batches(size, batch_format="pyarrow").materialize()
    documents = sizes.sum("d") or 0
    if not documents:
        return None
    total = sizes.sum("n") or 0

    def count(batch: pa.Table) -> pa.Table:
        sketch = _lookalike.Templates.count(batch.select(["shingles", "facts"]), total)
        parts = _chunks(sketch.counts)
        return pa.table({
            "chunk": pa.array([c for c, _ in parts], pa.int64()),
            "counts": pa.array([b for _, b in parts], pa.binary()),
        })

    def merge(group: pa.Table) -> pa.Table:
        parts = group["counts"].to_pylist()
        merged = parts[0]
        for part in parts[1:]:
            merged = _add_counts(merged, part)
        return pa.table({
            "chunk": group["chunk"].slice(0, 1), "counts": pa.array([merged], pa.binary()),
        })

    merged = (
        heads.map_batches(count, batch_format="pyarrow")
        .groupby("chunk")
        .map_groups(merge, batch_format="pyarrow")
        .iter_rows()
    )
    counts = b"".join(r["counts"] for r in sorted(merged, key=lambda r: r["chunk"]))
    return ray.put(_lookalike.Templates(counts, documents))


_TEMPLATES: dict[Any, Any] = {}


def _templates_of(ref: Any) -> Any:
    """The statistics behind ``ref``, read once per worker process (a
    sketch can be large; every batch reading it again would copy it)."""
    import ray

    if ref is None:
        return None
    if ref not in _TEMPLATES:
        _TEMPLATES.clear()
        _TEMPLATES[ref] = ray.get(ref)
    return _TEMPLATES[ref]


def _story_edges(heads: Any, lsh_pairs: Any, templates: Any, threshold: float,
                 partitions: int) -> Any:
    """The pairs judged versions of one story (see ``lookalike.spark``):
    LSH's candidates and containment candidates, judged in Rust."""

    def keys_of(batch: pa.Table) -> pa.Table:
        table = _lookalike.containment_keys(
            batch.select(["_pos", "shingles"]), "_pos", _templates_of(templates)
        )
        return table.rename_columns(["key", "a"])

    keys = heads.map_batches(keys_of, batch_format="pyarrow").materialize()
    key_count = keys.groupby("a").count().rename_columns({"count()": "keys"})

    def shingles_of(batch: pa.Table) -> pa.Table:
        lists = batch["shingles"].combine_chunks()
        parents = pc.list_parent_indices(lists)
        return pa.table({"key": pc.list_flatten(lists), "b": pc.take(batch["_pos"], parents)})

    def other(batch: pa.Table) -> pa.Table:
        return batch.filter(pc.not_equal(batch["a"], batch["b"])).select(["a", "b"])

    held = (
        heads.map_batches(shingles_of, batch_format="pyarrow")
        .join(keys, "inner", partitions, on=("key",))
        .map_batches(other, batch_format="pyarrow")
        .groupby(["a", "b"])
        .count()
        .rename_columns({"count()": "held"})
        .join(key_count, "inner", partitions, on=("a",))
    )

    def enough(batch: pa.Table) -> pa.Table:
        table = _lookalike.holds_enough(batch.select(["a", "b", "held", "keys"]))
        table = table.filter(table["enough"])
        return pa.table({
            "a": pc.min_element_wise(table["a"], table["b"]),
            "b": pc.max_element_wise(table["a"], table["b"]),
        })

    def flagged(lsh: bool) -> Callable[[pa.Table], pa.Table]:
        def flag(batch: pa.Table) -> pa.Table:
            return pa.table({
                "a": batch["a"], "b": batch["b"],
                "lsh": pa.array([lsh] * batch.num_rows, pa.bool_()),
            })
        return flag

    contained = (
        held.map_batches(enough, batch_format="pyarrow")
        .groupby(["a", "b"])
        .count()
        .map_batches(flagged(False), batch_format="pyarrow")
    )
    pairs = lsh_pairs.map_batches(flagged(True), batch_format="pyarrow").union(contained)

    def side(x: str) -> Any:
        def rename(batch: pa.Table) -> pa.Table:
            return pa.table({
                x: batch["_pos"],
                **{f"{c}_{x}": batch[c] for c in ("signature", "shingles", "facts", "time")},
            })
        return heads.map_batches(rename, batch_format="pyarrow")

    candidates = pairs.join(side("a"), "inner", partitions, on=("a",)).join(
        side("b"), "inner", partitions, on=("b",)
    )

    def judged(batch: pa.Table) -> pa.Table:
        table = _lookalike.judge_pairs(batch, _templates_of(templates), threshold, 0.15)
        return table.filter(table["same"]).select(["a", "b"])

    return candidates.map_batches(judged, batch_format="pyarrow")


def _stars(fp: Any, labels: Any, templates: Any, partitions: int) -> Any:
    """Group integrity (``lookalike::judge::stars``; see ``lookalike.spark``):
    components of three or more split into stars, one component per group
    of ``map_groups``; returns ``(v, label)``, label = the star's first."""
    sizes = labels.groupby("label").count().rename_columns({"count()": "_size"})
    sized = labels.join(sizes, "inner", partitions, on=("label",)).materialize()

    def smaller(big: bool) -> Callable[[pa.Table], pa.Table]:
        def pick(batch: pa.Table) -> pa.Table:
            keep = pc.greater_equal(batch["_size"], 3)
            return batch.filter(keep if big else pc.invert(keep)).select(["v", "label"])
        return pick

    def member_data(batch: pa.Table) -> pa.Table:
        return batch.select(["_pos", "exact", "shingles", "facts", "time"]).rename_columns(
            {"_pos": "v"}
        )

    members = sized.map_batches(smaller(True), batch_format="pyarrow").join(
        fp.map_batches(member_data, batch_format="pyarrow"), "inner", partitions, on=("v",)
    )

    def split(group: pa.Table) -> pa.Table:
        table = _lookalike.stars(
            group.rename_columns({"v": "_pos"}), _templates_of(templates)
        )
        return table.rename_columns(["v", "label"])

    split_ones = members.groupby("label").map_groups(split, batch_format="pyarrow")
    return sized.map_batches(smaller(False), batch_format="pyarrow").union(split_ones).materialize()


def _remote(fn: Callable[..., Any]) -> Any:
    import ray

    return ray.remote(fn)


def _count_rows(block: pa.Table) -> int:
    return int(block.num_rows)


def _number_rows(block: pa.Table, offset: int) -> pa.Table:
    import numpy as np  # comes with Ray; not needed to import lookalike

    positions = pa.array(np.arange(offset, offset + block.num_rows), pa.int64())
    return block.drop_columns(["_order"]).append_column("_pos", positions)


class _Lazy:
    """Ray remote functions made on first use, so importing lookalike does
    not import Ray."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.remote_fn: Any = None

    def remote(self, *args: Any) -> Any:
        if self.remote_fn is None:
            self.remote_fn = _remote(self.fn)
        return self.remote_fn.remote(*args)


_rows = _Lazy(_count_rows)
_numbered = _Lazy(_number_rows)


def _components(edges: Any, partitions: int) -> Any:
    """Connected components of ``(a, b)`` edges as ``(v, label)``, label =
    the smallest vertex of the component (see ``lookalike.spark``)."""

    def both_ways(batch: pa.Table) -> pa.Table:
        return pa.table({
            "a": pa.concat_arrays([batch["a"].combine_chunks(), batch["b"].combine_chunks()]),
            "b": pa.concat_arrays([batch["b"].combine_chunks(), batch["a"].combine_chunks()]),
        })

    both = edges.map_batches(both_ways, batch_format="pyarrow").materialize()

    def least(group: pa.Table) -> pa.Table:
        v = group["a"][0].as_py()
        return pa.table({"v": [v], "label": [min(v, pc.min(group["b"]).as_py())]})

    labels = both.groupby("a").map_groups(least, batch_format="pyarrow").materialize()
    for _ in range(_MAX_ROUNDS):
        # Each vertex proposes its label to its neighbours.
        proposals = both.join(
            labels.rename_columns({"v": "b"}), "inner", partitions, on=("b",)
        )

        def lowest(group: pa.Table) -> pa.Table:
            return pa.table({
                "v": [group["a"][0].as_py()],
                "proposed": [pc.min(group["label"]).as_py()],
            })

        proposed = proposals.groupby("a").map_groups(lowest, batch_format="pyarrow")
        stepped = labels.join(proposed, "inner", partitions, on=("v",))

        def take_min(batch: pa.Table) -> pa.Table:
            label = pc.min_element_wise(batch["label"], batch["proposed"])
            return pa.table({"v": batch["v"], "label": label})

        stepped = stepped.map_batches(take_min, batch_format="pyarrow").materialize()
        # Pointer jumping: each label takes its own label's label.
        jumped = stepped.join(
            stepped.rename_columns({"v": "label", "label": "label_of_label"}),
            "inner", partitions, on=("label",),
        )

        def jump(batch: pa.Table) -> pa.Table:
            return pa.table({
                "v": batch["v"],
                "label": pc.min_element_wise(batch["label"], batch["label_of_label"]),
            })

        jumped = jumped.map_batches(jump, batch_format="pyarrow").materialize()
        compared = jumped.join(
            labels.rename_columns({"label": "old"}), "inner", partitions, on=("v",)
        )
        def moved(batch: pa.Table) -> pa.Table:
            return batch.filter(pc.not_equal(batch["label"], batch["old"]))

        changed = compared.map_batches(moved, batch_format="pyarrow").count()
        labels = jumped
        if changed == 0:
            return labels
    raise LookalikeError(
        f"connected components did not settle in {_MAX_ROUNDS} rounds; please report this"
    )
