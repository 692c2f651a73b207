#!/usr/bin/env python3
"""Measure lookalike beside the Python MinHash tools people use, on the same
slice of the benchmark corpus, with the same settings: word 5-grams,
threshold 0.8, 128 hash functions, then grouping by union-find.

    python3 bench/peers.py [--mb 50] [--repeat 3]   (after bench/run has built the corpus)

Peers (installed from PyPI into bench/work/venv): datasketch 2.0.0
(MinHash + MinHashLSH), rensa 0.5.0 (RMinHash, the full-set MinHash, not its
position-sampling "rho" path, + RMinHashLSH), gaoya 0.2.2 (MinHashStringIndex,
multi-threaded Rust), datatrove 0.10.1 (its MinHash pipeline of signature,
bucket and cluster stages on its local executor, one worker). The peers lowercase and split on non-word characters;
lookalike applies its own normalisation (norm-v1), so the shingle sets are
close, not identical. Each tool runs in its own process; wall time, CPU time
and peak memory are that process's. Prints a Markdown table.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

VENV = "bench/work/venv"
PEERS = {"datasketch": "datasketch==2.0.0", "rensa": "rensa==0.5.0", "gaoya": "gaoya==0.2.2",
         # datatrove's English word tokenizer is spaCy's; its JSON reader needs orjson.
         "datatrove": "datatrove[processing]==0.10.1 spacy==3.8.18 orjson==3.13.0"}
WORD = re.compile(r"\w+")


def shingles(text, n=5):
    w = WORD.findall(text.lower())
    if len(w) < n:
        return {" ".join(w)} if w else set()
    return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}


class UF:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, x):
        while self.p[x] != x:
            self.p[x] = self.p[self.p[x]]
            x = self.p[x]
        return x

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.p[max(a, b)] = min(a, b)


def run_peer(name, path):
    """In a child process: deduplicate `path`, print {id: group} as JSON."""
    docs = [json.loads(l) for l in open(path)]
    ids = [d["id"] for d in docs]
    uf = UF(len(docs))
    if name == "datasketch":
        from datasketch import MinHash, MinHashLSH
        lsh = MinHashLSH(threshold=0.8, num_perm=128)
        for i, d in enumerate(docs):
            m = MinHash(num_perm=128, seed=1)
            m.update_batch([s.encode() for s in shingles(d["text"])])
            for j in lsh.query(m):
                uf.union(i, j)
            lsh.insert(i, m)
    elif name == "rensa":
        from rensa import RMinHash, RMinHashLSH
        lsh = RMinHashLSH(threshold=0.8, num_perm=128, num_bands=16)
        for i, d in enumerate(docs):
            m = RMinHash(num_perm=128, seed=1)
            m.update(list(shingles(d["text"])))
            for j in lsh.query(m):
                uf.union(i, j)
            lsh.insert(i, m)
    elif name == "gaoya":
        from gaoya.minhash import MinHashStringIndex
        index = MinHashStringIndex(hash_size=32, jaccard_threshold=0.8, num_bands=16, band_size=8,
                                   analyzer="word", lowercase=True, ngram_range=(5, 5), id_container="vec")
        texts = [d["text"] for d in docs]
        index.par_bulk_insert_docs(list(range(len(docs))), texts)
        for i, found in enumerate(index.par_bulk_query(texts)):
            for j in found:
                uf.union(i, j)
    elif name == "datatrove":
        # Its own four-stage pipeline (signatures, buckets, clusters), run
        # by its local executor in one process, as its README shows; the
        # word tokenizer is its default for English (spaCy). 16 buckets of
        # 8 hashes, 64-bit hashes, word 5-grams.
        import struct
        import tempfile
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets,
                                                      MinhashDedupCluster, MinhashDedupSignature)
        from datatrove.pipeline.readers import JsonlReader
        from datatrove.utils.hashing import HashConfig
        cfg = MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8, hash_config=HashConfig(precision=64))
        with tempfile.TemporaryDirectory() as work:
            reader = JsonlReader(os.path.dirname(os.path.abspath(path)), glob_pattern=os.path.basename(path),
                                 text_key="text", id_key="id")
            stages = [
                ([reader, MinhashDedupSignature(output_folder=f"{work}/sigs", config=cfg)], 1),
                ([MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/buckets", config=cfg)],
                 cfg.num_buckets),
                ([MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/out", config=cfg,
                                      save_cluster_id=True)], 1),
            ]
            for k, (pipeline, tasks) in enumerate(stages):
                LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1,
                                      logging_dir=f"{work}/logs{k}").run()
            clusters = f"{work}/out/000000.clusters"
            pairs = open(clusters, "rb").read() if os.path.exists(clusters) else b""
            first = {}
            for doc, cluster in struct.iter_unpack("<II", pairs):
                uf.union(first.setdefault(cluster, doc), doc)
    groups = {}
    for i in range(len(docs)):
        groups.setdefault(uf.find(i), []).append(ids[i])
    print(json.dumps({m: g for g, ms in groups.items() if len(ms) > 1 for m in ms}))


def measure(cmd):
    import tempfile
    # Standard error goes to a file: a chatty peer (datatrove logs every
    # stage) would otherwise fill the pipe and stall.
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{cmd} failed: {err.read().decode()[-4000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out


def median_run(cmd, repeat):
    """The run with the median wall time of `repeat` runs of `cmd`: single
    runs of a second or two move by 20% on a shared machine."""
    runs = sorted((measure(cmd) for _ in range(max(1, repeat))), key=lambda r: r[0])
    return runs[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each tool; the run with the median wall time is shown (lookalike runs 5 times at least)")
    ap.add_argument("--run", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.run:
        return run_peer(*a.run)
    repeat = a.repeat
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", *" ".join(PEERS.values()).split()], check=True)
    # The slice: the corpus's first MB, whole lines.
    slice_path = f"bench/work/slice-{a.mb}mb.jsonl"
    size = 0
    with open("bench/work/debian.jsonl") as f, open(slice_path, "w") as out:
        for line in f:
            out.write(line)
            size += len(json.loads(line)["text"].encode())
            if size >= a.mb * 1_000_000:
                break
    ids = {json.loads(l)["id"] for l in open(slice_path)}
    planted = [json.loads(l) for l in open("bench/work/planted.jsonl")]
    planted = [p for p in planted if p["id1"] in ids and p["id2"] in ids]
    # The true similarity of each planted pair, by `lookalike compare` (exact
    # Jaccard of word 5-gram sets): recall is counted on pairs at or above the
    # threshold, false merges on pairs well below it.
    texts = {}
    wanted = {p["id1"] for p in planted} | {p["id2"] for p in planted}
    for line in open(slice_path):
        d = json.loads(line)
        if d["id"] in wanted:
            texts[d["id"]] = d["text"]
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for k, p in enumerate(planted):
            a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
            open(a, "w").write(texts[p["id1"]])
            open(b, "w").write(texts[p["id2"]])
            out = subprocess.run(["target/release/lookalike", "compare", "--json", a, b], capture_output=True, text=True, check=True).stdout
            p["jaccard"] = json.loads(out)["jaccard"]
    above = [p for p in planted if p["jaccard"] >= 0.8]
    below = [p for p in planted if p["jaccard"] < 0.7]
    rows = []
    clusters = "bench/work/slice-clusters.jsonl"
    for threads in ["1", "2"]:
        wall, cpu, rss, _ = median_run(["target/release/lookalike", "dedup", slice_path, "-t", "0.8", "-j", threads,
                                        "--clusters", clusters, "-q"], max(5, repeat))
        group = {}
        for line in open(clusters):
            c = json.loads(line)
            for m in c["members"]:
                group[m["id"]] = c["cluster"]
        rows.append((f"lookalike dedup -j {threads}", wall, cpu, rss, group))
    for name in PEERS:
        wall, cpu, rss, out = median_run([py, __file__, "--run", name, slice_path], repeat)
        rows.append((name, wall, cpu, rss, json.loads(out)))
    base = rows[0][1]
    print(f"Slice: `{slice_path}`, {len(ids):,} documents, {size / 1e6:.0f} MB of text, "
          f"{len(planted):,} planted copies with both sides in the slice: {len(above)} at Jaccard >= 0.8, "
          f"{len(below)} below 0.7\n")
    print("| tool | wall s | CPU s | peak RSS MB | MB/s | documents/s | time vs lookalike -j 1 | grouped documents | recall: planted pairs >= 0.8 grouped | planted pairs < 0.7 grouped |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    together = lambda g, p: p["id1"] in g and g.get(p["id1"]) == g.get(p["id2"])
    for name, wall, cpu, rss, group in rows:
        recall = sum(together(group, p) for p in above) / max(1, len(above))
        wrong = sum(together(group, p) for p in below)
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {size / 1e6 / wall:.1f} | {len(ids) / wall:,.0f} | "
              f"{wall / base:.1f}x | {len(group):,} | {recall:.3f} | {wrong} of {len(below)} |")


if __name__ == "__main__":
    main()
