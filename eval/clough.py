#!/usr/bin/env python3
"""Evaluate reuse detection on the Clough & Stevenson corpus of short answers
(../shared/data/clough): how well lookalike separates answers that reuse
their source (cut, light) from answers written independently (non), and
where heavy rewrites fall. Prints the Markdown recorded in EVALUATION.md.

Usage (from the repository root, after `cargo build --release`):
    python3 eval/clough.py [--data ../shared/data/clough]
"""
import argparse
import collections
import json
import os
import subprocess
import tempfile

BIN = os.path.join("target", "release", "lookalike")


def prf(pred, truth):
    tp = sum(1 for p, t in zip(pred, truth) if p and t)
    fp = sum(1 for p, t in zip(pred, truth) if p and not t)
    fn = sum(1 for p, t in zip(pred, truth) if not p and t)
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join("..", "shared", "data", "clough"))
    a = ap.parse_args()
    docs = {}
    with open(os.path.join(a.data, "clough.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            docs[d["id"]] = d["text"]
    pairs = [json.loads(l) for l in open(os.path.join(a.data, "clough.pairs.jsonl"))]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, t in docs.items():
            with open(os.path.join(tmp, i + ".txt"), "w") as f:
                f.write(t)
        for p in pairs:
            out = subprocess.run(
                [BIN, "compare", "--json", os.path.join(tmp, p["id1"] + ".txt"), os.path.join(tmp, p["id2"] + ".txt")],
                capture_output=True, text=True, check=True).stdout
            r = json.loads(out)
            rows.append((p, r))
        reuse_out = os.path.join(tmp, "reuse.jsonl")
        subprocess.run([BIN, "reuse", os.path.join(a.data, "clough.jsonl"), "-o", reuse_out, "-q"], check=True)
        found = set()
        for line in open(reuse_out):
            d = json.loads(line)
            found.add(frozenset((d["a"], d["b"])))

    binary = [(p, r) for p, r in rows if p["label"] in ("cut", "light", "non")]
    truth = [p["label"] != "non" for p, _ in binary]
    methods = [
        ("`compare`: relation is not `different` (a shared passage of 8+ words, or more)",
         lambda p, r: r["relation"] != "different"),
        ("`compare`: containment of the answer in the source >= 0.05 (word 5-grams)",
         lambda p, r: r["containment_b_in_a"] >= 0.05),
        ("`reuse` with defaults: the pair is reported (a passage of 15+ words)",
         lambda p, r: frozenset((p["id1"], p["id2"])) in found),
    ]
    print("| method | precision | recall | F1 | heavy answers detected |")
    print("|---|---|---|---|---|")
    for name, f in methods:
        pred = [f(p, r) for p, r in binary]
        prec, rec, f1 = prf(pred, truth)
        heavy = [f(p, r) for p, r in rows if p["label"] == "heavy"]
        print(f"| {name} | {prec:.3f} | {rec:.3f} | {f1:.3f} | {sum(heavy)} of {len(heavy)} |")
    print()
    by = collections.defaultdict(list)
    for p, r in rows:
        by[p["label"]].append(r)
    print("| label | pairs | median containment (5-grams) | median Jaccard | median longest passage (words) | relations |")
    print("|---|---|---|---|---|---|")
    for label in ("cut", "light", "heavy", "non"):
        rs = by[label]
        med = lambda xs: sorted(xs)[len(xs) // 2]
        rel = collections.Counter(r["relation"] for r in rs)
        print(f"| {label} | {len(rs)} | {med([r['containment_b_in_a'] for r in rs]):.3f} | "
              f"{med([r['jaccard'] for r in rs]):.3f} | {med([r['longest_passage_words'] for r in rs])} | "
              + ", ".join(f"{k} {v}" for k, v in sorted(rel.items())) + " |")


if __name__ == "__main__":
    main()
