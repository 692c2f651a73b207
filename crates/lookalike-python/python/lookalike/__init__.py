"""lookalike: find copies, near-copies and reused passages in documents.

Every function takes Arrow data -- a ``pyarrow.Table`` or ``RecordBatch``, a
polars or pandas DataFrame, anything exposing the Arrow C interface -- or a
plain list of strings, and returns Arrow data (``pyarrow``). The work runs in
Rust with the GIL released.

>>> import lookalike
>>> out = lookalike.dedup(["Kerry arrives in Moscow for talks on Syria.",
...                        "KERRY arrives in Moscow for talks on Syria!",
...                        "Markets fell sharply on Tuesday."])
>>> out.column("kept").to_pylist()
[True, False, True]

Settings mean what they mean on the command line (``lookalike dedup
--help``): ``threshold`` 0.4 (Jaccard similarity of word 5-gram sets),
``ngram`` 5, ``unit`` "words", ``slots`` 128, ``seed`` 0. Signatures, band
hashes and shingles are ``int64``: Spark has no unsigned integers; a 32-bit
slot keeps its value and a 64-bit hash keeps its bits.

``lookalike.spark.dedup`` and ``lookalike.ray.dedup`` run the same
deduplication on Spark and Ray, with the engine doing the shuffle, and find
the same groups as ``lookalike.dedup`` and the CLI.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict, cast

import pyarrow as pa

from . import _lookalike
from ._lookalike import (
    IndexDamagedError,
    IndexExistsError,
    IndexFormatError,
    IndexInUseError,
    IndexMissingError,
    IndexReadOnlyError,
    IndexSettingsError,
    IndexStorageError,
    LookalikeError,
    LookalikeIndexError,
    NotAnIndexError,
    __version__,
)

__all__ = [
    "Checked",
    "Index",
    "IndexDamagedError",
    "IndexExistsError",
    "IndexFormatError",
    "IndexInUseError",
    "IndexMissingError",
    "IndexReadOnlyError",
    "IndexSettingsError",
    "IndexStats",
    "IndexStorageError",
    "Judge",
    "Keep",
    "LookalikeError",
    "LookalikeIndexError",
    "Match",
    "NotAnIndexError",
    "StoredDocument",
    "Unit",
    "Verification",
    "__version__",
    "align",
    "band_hashes",
    "compare",
    "dedup",
    "fingerprints",
    "lsh_params",
    "signatures",
]

#: The choices of the settings that take words, as the CLI spells them.
Unit = Literal["words", "chars"]
Keep = Literal["first", "longest", "shortest"]
Verification = Literal["exact", "signature"]
Judge = Literal["plain", "story"]


class Match(TypedDict):
    """A stored document a new one duplicates."""

    id: str
    #: Exact Jaccard similarity of the shingle sets.
    similarity: float
    #: "exact" (same normalised text) or "near".
    relation: str
    source: NotRequired[str]
    #: Seconds since 1970.
    timestamp: NotRequired[int]


class Checked(TypedDict):
    """The answer for one row of :meth:`Index.add` or :meth:`Index.query`."""

    id: str
    #: Most similar first.
    matches: list[Match]
    #: Whether the row was stored now.
    stored: bool
    #: Why it was not stored, when it was not.
    note: str | None


class StoredDocument(TypedDict):
    """A stored document (:meth:`Index.get`); ``text`` only when the index
    stores texts."""

    id: str
    source: str | None
    timestamp: int | None
    text: str | None


class IndexStats(TypedDict):
    """Counts of an index (:meth:`Index.stats`)."""

    documents: int
    dated: int
    oldest: int | None
    newest: int | None
    bucket_entries: int
    spec: dict[str, Any]
    format: int
    file_bytes: int


#: Defaults shared with the CLI.
#: The engine's defaults (``_lookalike.defaults()``): every keyword default
#: below, and Spark's and Ray's, comes from these.
_DEFAULTS: dict[str, Any] = json.loads(_lookalike.defaults())
THRESHOLD: float = _DEFAULTS["threshold"]
NGRAM: int = _DEFAULTS["ngram"]
UNIT: Unit = _DEFAULTS["unit"]
SLOTS: int = _DEFAULTS["slots"]
SEED: int = _DEFAULTS["seed"]
KEEP: Keep = _DEFAULTS["keep"]
VERIFICATION: Verification = _DEFAULTS["verification"]
REPRESENTATIVES: int = _DEFAULTS["representatives"]
BUCKET_CAP: int = _DEFAULTS["bucket_cap"]
JUDGE: Judge = _DEFAULTS["judge"]
CONTAINMENT: float = _DEFAULTS["containment"]

# Rounds of label propagation the Spark and Ray pipelines allow before they
# report that connected components did not settle.
_MAX_ROUNDS = 64


def _check_pipeline(columns: Sequence[str], text_col: str, id_col: str,
                    order_col: str | None, keep: str, threshold: float, slots: int,
                    judge: Judge = JUDGE, time_col: str | None = None,
                    verification: Verification = VERIFICATION) -> str:
    """Check a Spark or Ray pipeline's arguments before the engine starts a
    job; returns the ordering column (default: the id column)."""
    named = (text_col, id_col, *(c for c in (order_col, time_col) if c))
    for c in named:
        if c not in columns:
            raise LookalikeError(f"no column {c!r}; the columns are {list(columns)}")
    if keep not in ("first", "longest", "shortest"):
        raise LookalikeError(f'keep must be "first", "longest" or "shortest", got {keep!r}')
    if judge not in ("plain", "story"):
        raise LookalikeError(f'judge must be "plain" or "story", got {judge!r}')
    if judge == "story" and verification != "exact":
        raise LookalikeError(
            'the story judgment needs the shingle sets: use verification="exact"'
        )
    if time_col and judge != "story":
        warnings.warn('time_col is evidence for judge="story" only; the plain judgment '
                      "ignores times", stacklevel=3)
    _lookalike.lsh_params(threshold, slots)
    return order_col or id_col


# Template statistics travel between a cluster's tasks in chunks of at most
# this many counters, each merged on its own: no task and no driver holds
# more than one whole sketch.
_CHUNK = 4 << 20


def _chunks(counts: bytes) -> list[tuple[int, bytes]]:
    """A sketch's counters as ``(chunk number, bytes)``."""
    return [(i // _CHUNK, counts[i:i + _CHUNK]) for i in range(0, len(counts), _CHUNK)]


def _add_counts(a: bytes, b: bytes) -> bytes:
    """Two chunks of one-byte counters added, saturating at 255 (as the
    engine's ``DocFreq::merge``: the order of additions never matters)."""
    import pyarrow.compute as pc

    def u16(x: bytes) -> Any:
        return pa.Array.from_buffers(pa.uint8(), len(x), [None, pa.py_buffer(x)]).cast(pa.uint16())

    total = pc.min_element_wise(pc.add(u16(a), u16(b)), pa.scalar(255, pa.uint16()))
    return cast(bytes, total.cast(pa.uint8()).buffers()[1].to_pybytes()[: len(a)])


def _arrow(data: Any, text_column: str) -> Any:
    """Anything Arrow-like passes through; a list of strings or a pandas
    DataFrame becomes a pyarrow Table."""
    if isinstance(data, (list, tuple)):
        for i, t in enumerate(data):
            if not isinstance(t, str):
                raise LookalikeError(
                    f"item {i} is {type(t).__name__}, not str: pass texts, or a table"
                )
        return pa.table({text_column: pa.array(list(data), pa.string())})
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        return data
    try:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return pa.Table.from_pandas(data, preserve_index=False)
    except ImportError:
        pass
    raise LookalikeError(
        f"cannot read {type(data).__name__}: pass a list of str, a pyarrow Table or "
        "RecordBatch, or a DataFrame (pandas, polars)"
    )


def _like(data: Any, table: pa.Table) -> Any:
    """Return a RecordBatch for a RecordBatch input, a Table otherwise."""
    if isinstance(data, pa.RecordBatch):
        return table.combine_chunks().to_batches()[0] if table.num_rows else (
            pa.RecordBatch.from_pylist([], schema=table.schema)
        )
    return table


def _fingerprint(
    data: Any,
    text_column: str,
    outputs: Sequence[str],
    threshold: float,
    ngram: int,
    unit: str,
    slots: int,
    seed: int,
) -> Any:
    table = _lookalike.fingerprint(
        _arrow(data, text_column), text_column, list(outputs), threshold, ngram, unit, slots, seed
    )
    return _like(data, table)


def signatures(
    data: Any,
    text_column: str = "text",
    *,
    ngram: int = NGRAM,
    unit: Unit = UNIT,
    slots: int = SLOTS,
    seed: int = SEED,
) -> Any:
    """Append ``signature`` (list<int64>, ``slots`` values; null for a text
    without words): the MinHash signature of each row's text."""
    return _fingerprint(data, text_column, ["signature"], THRESHOLD, ngram, unit, slots, seed)


def band_hashes(
    data: Any,
    text_column: str = "text",
    *,
    threshold: float = THRESHOLD,
    ngram: int = NGRAM,
    unit: Unit = UNIT,
    slots: int = SLOTS,
    seed: int = SEED,
) -> Any:
    """Append ``band_hashes`` (list<int64>, one per LSH band; null for a text
    without words). Two rows are candidates when they share the hash of the
    same band (same position in the list)."""
    return _fingerprint(data, text_column, ["band_hashes"], threshold, ngram, unit, slots, seed)


def fingerprints(
    data: Any,
    text_column: str = "text",
    *,
    threshold: float = THRESHOLD,
    ngram: int = NGRAM,
    unit: Unit = UNIT,
    slots: int = SLOTS,
    seed: int = SEED,
    shingles: bool = True,
) -> Any:
    """Append everything the pipelines need per row: ``length`` (bytes of
    text), ``exact`` (16-byte hash of the normalised text), ``shingles``
    (sorted set, unless ``shingles=False``), ``signature`` and
    ``band_hashes``."""
    outputs = ["length", "exact", "signature", "band_hashes"]
    if shingles:
        outputs.insert(2, "shingles")
    return _fingerprint(data, text_column, outputs, threshold, ngram, unit, slots, seed)


def lsh_params(threshold: float = THRESHOLD, slots: int = SLOTS) -> tuple[int, int]:
    """Bands and rows derived from the threshold, as the CLI derives them."""
    return _lookalike.lsh_params(threshold, slots)


def dedup(
    data: Any,
    text_column: str = "text",
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
    judge: Judge = JUDGE,
    time_column: str | None = None,
) -> pa.Table:
    """Group near-duplicate rows; one output row per input row, in order.

    ``judge="story"`` judges candidate pairs as versions of one story, as
    ``lookalike dedup --judge story`` does (README): text recurring across
    the rows is template and does not count, numbers must agree, and with
    ``time_column`` (seconds since 1970 as int64, or RFC 3339 strings) rows
    more than three days apart are versions only when nearly identical.
    Default "plain": Jaccard similarity at ``threshold``.

    Columns: ``group`` (int64, the position of the group's first row; a row
    without duplicates is its own group), ``kept`` (bool: which row of each
    group to keep, by ``keep``: "first", "longest" or "shortest"),
    ``similarity`` (to the kept row; 1.0 for the kept row and for rows
    without duplicates) and ``relation`` ("exact", "near", or null).
    The run's counters are in ``table.schema.metadata[b"lookalike.stats"]``
    (JSON).
    """
    table, stats = _lookalike.dedup(
        _arrow(data, text_column),
        text_column,
        threshold,
        ngram,
        unit,
        slots,
        seed,
        keep,
        verification,
        representatives,
        bucket_cap,
        judge,
        time_column,
    )
    return table.replace_schema_metadata({"lookalike.stats": stats})


def compare(
    a: str,
    b: str,
    *,
    threshold: float = THRESHOLD,
    containment: float = CONTAINMENT,
    ngram: int = NGRAM,
    unit: Unit = UNIT,
    slots: int = SLOTS,
    seed: int = SEED,
) -> dict[str, Any]:
    """Every figure for one pair (the fields of ``lookalike compare --json``):
    Jaccard and its estimate, containment both ways, LSH odds, passages and
    the relation ("exact", "near", "contains", "contained-in",
    "shares-passages" or "different")."""
    return cast(
        "dict[str, Any]",
        json.loads(_lookalike.compare(a, b, threshold, containment, ngram, unit, slots, seed)),
    )


def align(
    a: str, b: str, *, min_words: int = _DEFAULTS["min_words"], max_gap: int = _DEFAULTS["max_gap"]
) -> dict[str, Any]:
    """The passages two texts share and where they differ (the fields of
    ``lookalike align --json``): per side its words, coverage and unshared
    spans; the passages with character and byte offsets into both texts."""
    return cast("dict[str, Any]", json.loads(_lookalike.align(a, b, min_words, max_gap)))


class Index:
    """A persistent index in one file, the same file ``lookalike index`` and
    ``lookalike serve`` use.

    ``Index(path)`` opens an existing index; ``Index.create(path, ...)``
    makes a new one with its settings fixed inside it.
    """

    def __init__(self, path: str, *, _create: bool = False, **settings: Any) -> None:
        s: dict[str, Any] = {"threshold": THRESHOLD, "ngram": NGRAM, "unit": UNIT,
                             "slots": SLOTS, "seed": SEED, "store_text": False,
                             "judge": JUDGE}
        unknown = set(settings) - set(s)
        if unknown:
            raise LookalikeError(f"unknown settings {sorted(unknown)}; known: {sorted(s)}")
        s.update(settings)
        # Settings are fixed when an index is created; opening it with
        # others is refused by the engine before it changes the file (as
        # `lookalike index add --threshold` is), never silently ignored.
        self._inner = _lookalike.Index(
            str(path), _create, s["threshold"], s["ngram"], s["unit"], s["slots"], s["seed"],
            s["store_text"], s["judge"], sorted(settings),
        )
        self.path = str(path)
        #: The format version the file had, when this open upgraded it in
        #: place (older builds of lookalike cannot read it after); else None.
        self.upgraded_from: int | None = self._inner.upgraded_from
        if self.upgraded_from is not None:
            warnings.warn(
                f"upgraded {self.path} from index format {self.upgraded_from}; older "
                "versions of lookalike cannot read it now",
                UserWarning,
                stacklevel=2,
            )

    @classmethod
    def create(
        cls,
        path: str,
        *,
        threshold: float = THRESHOLD,
        ngram: int = NGRAM,
        unit: Unit = UNIT,
        slots: int = SLOTS,
        seed: int = SEED,
        store_text: bool = False,
        judge: Judge = JUDGE,
    ) -> Index:
        """Create a new index file (an error if the file exists). ``judge="story"``
        judges matches as versions of one story, with template statistics
        learned from the documents stored (``lookalike index create --judge
        story``)."""
        return cls(path, _create=True, threshold=threshold, ngram=ngram, unit=unit,
                   slots=slots, seed=seed, store_text=store_text, judge=judge)

    def _check(self, data: Any, store: bool, text_column: str, id_column: str,
               source_column: str, time_column: str, window: str | None) -> list[Checked]:
        answer = self._inner.check(
            _arrow(data, text_column), text_column, id_column, source_column, time_column,
            store, window,
        )
        return cast("list[Checked]", json.loads(answer))

    def add(self, data: Any, *, text_column: str = "text", id_column: str = "id",
            source_column: str = "source", time_column: str = "timestamp",
            window: str | None = None) -> list[Checked]:
        """For each row, the stored documents it duplicates; then store the
        rows, all in one transaction. ``window`` ("7d") compares only with
        documents published at most that long before."""
        return self._check(data, True, text_column, id_column, source_column, time_column,
                           window)

    def query(self, data: Any, *, text_column: str = "text", id_column: str = "id",
              source_column: str = "source", time_column: str = "timestamp",
              window: str | None = None) -> list[Checked]:
        """Like :meth:`add`, storing nothing."""
        return self._check(data, False, text_column, id_column, source_column, time_column,
                           window)

    def remove(self, ids: Sequence[str]) -> list[bool]:
        """Forget documents; for each id, whether it was stored."""
        return self._inner.remove(list(ids))

    def get(self, id: str) -> StoredDocument | None:
        """A stored document (id, source, timestamp, and its text when the
        index stores texts), or None."""
        doc = self._inner.get(id)
        return None if doc is None else cast(StoredDocument, json.loads(doc))

    def stats(self) -> IndexStats:
        """Counts, the spec and the file's format version."""
        return cast(IndexStats, json.loads(self._inner.stats()))

    def verify(self) -> list[str]:
        """Read the whole file and cross-check its tables; the problems found."""
        return self._inner.verify()


# Last: the pipelines import names defined above (and their engines lazily).
from . import ray as ray  # noqa: E402
from . import spark as spark  # noqa: E402
