#!/usr/bin/env python3
"""Score `lookalike dedup` on the labelled Reuters development pairs.

Runs the built binary on ../shared/data/reuters/dev.jsonl.zst (all 18,160
stories, so template statistics come from the whole wire), once per setting,
and counts a labelled pair as predicted `same` when both stories end in one
group. Prints the Markdown table recorded in EVALUATION.md: precision,
recall and F1 over the pairs, and recall of each kind of `same` pair and
the false-merge rate of each kind of `different` pair (eval/reuters/POLICY.md).

Usage (from the repository root, after `cargo build --release`):
    python3 eval/reuters/score.py [--data ../shared/data/reuters/dev.jsonl.zst]
"""
import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

BIN = os.path.join("target", "release", "lookalike")
PAIRS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pairs.jsonl")
STAMP = re.compile(r"\s*(\d+)-(\w+)-(\d+) +(\d+):(\d+):(\d+)")
SETTINGS = [
    ("plain, threshold 0.4 (today's default)", []),
    ("plain, threshold 0.8", ["--threshold", "0.8"]),
    ("story, no times", ["--judge", "story"]),
    ("story, with times", ["--judge", "story", "--time-field", "timestamp"]),
]


def wire_time(stamp):
    """The wire's stamp (`26-FEB-1987 16:48:40.42`) as RFC 3339. A few
    stamps carry hours past 23 (`605:12:19`); the hour is taken modulo 24."""
    m = STAMP.match(stamp)
    if not m:
        return None
    day = datetime.datetime.strptime(f"{m[1]}-{m[2]}-{m[3]}", "%d-%b-%Y")
    t = day + datetime.timedelta(hours=int(m[4]) % 24, minutes=int(m[5]), seconds=int(m[6]))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join("..", "shared", "data", "reuters", "dev.jsonl.zst"))
    ap.add_argument("--errors", metavar="FILE",
                    help="write the misses and false merges of each setting here (JSON Lines)")
    a = ap.parse_args()
    errors = open(a.errors, "w") if a.errors else None
    if not os.path.exists(a.data):
        sys.exit(f"{a.data} is absent: the Reuters development set lives in ../shared")
    raw = subprocess.run(["zstd", "-dc", a.data], check=True, capture_output=True).stdout
    with open(PAIRS) as f:
        pairs = [json.loads(line) for line in f]
    print("| setting | precision | recall | F1 | " +
          " | ".join(f"{k} found" for k in ("resend", "correction", "take", "excerpt")) +
          " | template merged | related merged |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        docs = os.path.join(tmp, "dev.jsonl")
        with open(docs, "w") as f:
            for line in raw.decode("utf-8").splitlines():
                d = json.loads(line)
                f.write(json.dumps({"id": d["id"], "text": d["text"],
                                    "timestamp": wire_time(d["date"])}) + "\n")
        for name, flags in SETTINGS:
            out = os.path.join(tmp, "clusters.jsonl")
            subprocess.run([BIN, "dedup", docs, "--clusters", out, "--quiet"] + flags, check=True)
            group = {}
            with open(out) as f:
                for line in f:
                    c = json.loads(line)
                    for m in c["members"]:
                        group[m["id"]] = c["cluster"]
            tp = fp = fn = 0
            by_kind = collections.defaultdict(lambda: [0, 0])
            for p in pairs:
                pred = p["id1"] in group and group.get(p["id1"]) == group.get(p["id2"])
                same = p["label"] == "same"
                tp += pred and same
                fp += pred and not same
                fn += same and not pred
                by_kind[p["kind"]][0] += pred
                by_kind[p["kind"]][1] += 1
                if errors and pred != same:
                    errors.write(json.dumps(dict(p, setting=name, error="false merge" if pred
                                                 else "miss")) + "\n")
            prec = tp / (tp + fp) if tp + fp else 1.0
            rec = tp / (tp + fn) if tp + fn else 1.0
            f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
            kinds = " | ".join(f"{by_kind[k][0]}/{by_kind[k][1]}" for k in
                               ("resend", "correction", "take", "excerpt", "template", "related"))
            print(f"| {name} | {prec:.3f} | {rec:.3f} | **{f1:.3f}** | {kinds} |")


if __name__ == "__main__":
    main()
