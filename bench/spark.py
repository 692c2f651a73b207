#!/usr/bin/env python3
"""Measure `lookalike dedup` (the CLI, 2 threads) beside
`lookalike.spark.dedup` in Spark local[2], on one corpus with one set of
settings, and check that both find the same groups.

    python bench/spark.py CORPUS.jsonl [--threshold 0.8] [--bin target/release/lookalike]

Run it with the Python of target/python-venv (scripts/test builds it) after
`cargo build --release`. CORPUS.jsonl holds {"id", "text"} lines. Both
engines must see the documents in one order (the CLI's "first" is the
earliest line, Spark's the smallest id, and LSH buckets pair their first
members), so the script first writes a copy whose ids are the line numbers,
zero-padded, beside the corpus (CORPUS.spark.jsonl, reused on later runs).
Prints a Markdown row per engine: wall time, MB/s, documents/s, groups, and
whether the groups equal the CLI's.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def groups_from_clusters(path):
    out = set()
    with open(path) as f:
        for line in f:
            out.add(frozenset(m["id"] for m in json.loads(line)["members"]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--bin", default="target/release/lookalike")
    args = ap.parse_args()
    numbered = args.corpus.removesuffix(".jsonl") + ".spark.jsonl"
    if not os.path.exists(numbered):
        with open(args.corpus) as src, open(numbered + ".tmp", "w") as dst:
            for i, line in enumerate(src):
                dst.write(json.dumps({"id": f"{i:09d}", "text": json.loads(line)["text"]}) + "\n")
        os.replace(numbered + ".tmp", numbered)
    args.corpus = numbered
    size = os.path.getsize(args.corpus)
    with open(args.corpus) as f:
        docs = sum(1 for _ in f)

    with tempfile.TemporaryDirectory() as tmp:
        clusters = os.path.join(tmp, "clusters.jsonl")
        t0 = time.perf_counter()
        subprocess.run([args.bin, "dedup", args.corpus, "--threshold",
                        str(args.threshold), "--threads", "2", "--clusters", clusters], check=True,
                       stderr=subprocess.DEVNULL)
        cli_s = time.perf_counter() - t0
        cli_groups = groups_from_clusters(clusters)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    import lookalike.spark

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "8g").config("spark.sql.shuffle.partitions", "16")
             .getOrCreate())
    t0 = time.perf_counter()
    df = spark.read.schema("id string, text string").json(args.corpus)
    out = lookalike.spark.dedup(df, threshold=args.threshold).select("id", "group")
    rows = out.filter(F.col("id") != F.col("group")).collect()
    spark_s = time.perf_counter() - t0
    by = {}
    for r in rows:
        by.setdefault(r["group"], {r["group"]}).add(r["id"])
    spark_groups = {frozenset(g) for g in by.values()}
    spark.stop()

    mb = size / 1e6
    print(f"corpus: {args.corpus}, {mb:.0f} MB, {docs} documents, threshold {args.threshold}")
    print("| engine | wall s | MB/s | docs/s | groups | same groups as CLI |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| lookalike dedup (CLI, 2 threads) | {cli_s:.1f} | {mb / cli_s:.1f} | "
          f"{docs / cli_s:,.0f} | {len(cli_groups)} | — |")
    print(f"| lookalike.spark.dedup (local[2]) | {spark_s:.1f} | {mb / spark_s:.1f} | "
          f"{docs / spark_s:,.0f} | {len(spark_groups)} | {spark_groups == cli_groups} |")


if __name__ == "__main__":
    main()
