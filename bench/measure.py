#!/usr/bin/env python3
"""Measure `lookalike dedup` on bench/work/debian.jsonl: wall and CPU time,
peak memory (max RSS of the process), MB/s, documents/s, at 1 and 2 threads,
and recall on the planted copies. Called by bench/run; prints Markdown.

Each setting runs --repeat times (default 3); the median wall time is
reported, with the run that produced it. The machine is shared and noisy:
compare ratios within one run.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

BIN = "target/release/lookalike"
CORPUS = "bench/work/debian.jsonl"


def run(args):
    start = time.perf_counter()
    p = subprocess.Popen([BIN, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    err = p.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"lookalike failed: {err}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024, "stderr": err}


def groups_of(path):
    g = {}
    with open(path) as f:
        for line in f:
            c = json.loads(line)
            for m in c["members"]:
                g[m["id"]] = c["cluster"]
    return g


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    size = 0
    docs = 0
    with open(CORPUS, "rb") as f:
        for line in f:
            docs += 1
            size += len(json.loads(line)["text"].encode())
    planted = [json.loads(l) for l in open("bench/work/planted.jsonl")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clusters = os.path.join(tmp, "c.jsonl")
        for threshold in ["0.4", "0.8"]:
            for threads in ["1", "2"]:
                runs = [run(["dedup", CORPUS, "-j", threads, "-t", threshold, "--clusters", clusters])
                        for _ in range(a.repeat)]
                runs.sort(key=lambda r: r["wall"])
                med = runs[len(runs) // 2]
                g = groups_of(clusters)
                found = sum(1 for p in planted if p["id1"] in g and g.get(p["id1"]) == g.get(p["id2"]))
                summary = [l for l in med["stderr"].splitlines() if "groups;" in l]
                rows.append((threshold, threads, med, found, summary[0].split("lookalike: ")[-1] if summary else ""))
    print(f"Machine: {machine()}")
    print(f"Corpus: `{CORPUS}`, {docs:,} documents, {size / 1e6:.0f} MB of text; "
          f"{len(planted):,} planted edited copies (edit rate 0-10%)")
    print(f"Runs per setting: {a.repeat}; median wall time shown\n")
    print("| threshold | threads | wall s | CPU s | peak RSS MB | MB/s | documents/s | planted copies found | outcome |")
    print("|---|---|---|---|---|---|---|---|---|")
    for threshold, threads, r, found, outcome in rows:
        print(f"| {threshold} | {threads} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss_mb']:.0f} | "
              f"{size / 1e6 / r['wall']:.1f} | {docs / r['wall']:,.0f} | {found / len(planted):.4f} | {outcome} |")


if __name__ == "__main__":
    main()
