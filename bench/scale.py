#!/usr/bin/env python3
"""How `lookalike dedup` grows with the number of documents: synthetic
corpora of 1 M, 10 M, ... documents (40-160 words each, planted copies
edited at 0-15%; crates/lookalike/examples/synth.rs, written compressed
with zstd), deduplicated at
threshold 0.8 on 2 threads. Prints a Markdown row per size: wall and CPU
time, peak memory, documents/s, the share of planted pairs at Jaccard >=
0.85 that were grouped (recall) and the share of planted pairs below 0.75
that were grouped anyway (the true similarity of each pair is measured by
the generator on the texts).

    python3 bench/scale.py [--sizes 1000000 10000000] [--verify exact|signature] [--memory 8G]

Run after `cargo build --release -p lookalike-cli -p lookalike --example synth`
(bench/run does it). Corpora are written to bench/work/scale/ and reused; a
size whose corpus and spill file do not fit on the disk is reported, not
attempted. "corpus MB" is the uncompressed text lookalike read.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from measure import groups_of, machine, run  # noqa: E402

WORK = "bench/work/scale"
CORPUS_BYTES_PER_DOC = 271  # measured: 2 M documents make 542 MB of .jsonl.zst (1,465 MB plain)
SPILL_BYTES_PER_DOC = 1450  # measured: 2 M documents spill 2,551 MB of fingerprints + 21 band keys of 8 bytes


def text_mb(stderr):
    """MB of text read, from lookalike's summary line ("N documents, X MB in")."""
    for line in stderr.splitlines():
        if " documents, " in line and " in " in line:
            amount, unit = line.split(" documents, ")[1].split(" in ")[0].split()
            return float(amount) * {"KB": 1e-3, "MB": 1, "GB": 1e3, "TB": 1e6}[unit]
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--verify", default="exact", choices=["exact", "signature"])
    ap.add_argument("--memory", default="8G", help="lookalike's --memory (fingerprints past it spill to disk)")
    a = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    print(f"Machine: {machine()}")
    print(f"Verification: {a.verify}; --memory {a.memory}; threshold 0.8; 2 threads\n")
    print("| documents | corpus MB | wall s | CPU s | peak RSS MB | documents/s | MB/s | "
          "recall: planted pairs >= 0.85 grouped | planted pairs < 0.75 grouped | outcome |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in a.sizes:
        corpus = f"{WORK}/synth-{n}.jsonl.zst"
        truth = f"{WORK}/synth-{n}.truth.jsonl"
        free = shutil.disk_usage(WORK).free
        need = n * SPILL_BYTES_PER_DOC * 1.1 + (0 if os.path.exists(corpus) else n * CORPUS_BYTES_PER_DOC * 1.2)
        if need > free:
            print(f"| {n:,} | — | not run: the compressed corpus and the spill file need about "
                  f"{need / 1e9:.0f} GB of disk, {free / 1e9:.0f} GB are free | | | | | | | |")
            continue
        if not os.path.exists(corpus):
            subprocess.run(["target/release/examples/synth", str(n), corpus, truth], check=True)
        clusters = f"{WORK}/clusters-{n}.jsonl"
        r = run(["dedup", corpus, "-j", "2", "-t", "0.8", "--verify", a.verify, "--memory", a.memory,
                 "--spill-dir", WORK, "--clusters", clusters])
        group = groups_of(clusters)
        above = found = below = wrong = 0
        with open(truth) as f:
            for line in f:
                p = json.loads(line)
                grouped = p["id1"] in group and group.get(p["id1"]) == group.get(p["id2"])
                if p["jaccard"] >= 0.85:
                    above += 1
                    found += grouped
                elif p["jaccard"] < 0.75:
                    below += 1
                    wrong += grouped
        size = text_mb(r["stderr"])
        summary = [l for l in r["stderr"].splitlines() if "groups;" in l or "kept on disk" in l]
        outcome = "; ".join(l.split("lookalike: ")[-1] for l in summary)
        print(f"| {n:,} | {size:,.0f} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss_mb']:,.0f} | "
              f"{n / r['wall']:,.0f} | {size / r['wall']:.1f} | {found / max(above, 1):.4f} of {above:,} | "
              f"{wrong} of {below:,} | {outcome} |",
              flush=True)
        os.remove(clusters)


if __name__ == "__main__":
    main()
