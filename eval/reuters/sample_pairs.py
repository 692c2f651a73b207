#!/usr/bin/env python3
"""Draw the Reuters development pairs to label (eval/reuters/POLICY.md).

Pairs are stratified so that every kind of hard case is represented, not in
proportion to how often it occurs: bands of word 5-gram Jaccard similarity,
pairs where most of the shorter story is inside the longer one at a low
Jaccard (first and fuller takes, excerpts), stories whose titles mark a
correction or repeat, and stories sharing a title (scheduled reports). The
similarity here is a plain re-implementation (lower case, runs of letters and
digits) used only to draw the sample; the labels come from reading.

Usage: python3 eval/reuters/sample_pairs.py [--data ../shared/data/reuters/dev.jsonl.zst]
           [--seed 1] > pairs-to-label.jsonl
Prints one {"id1", "id2", "stratum", "jaccard", "containment"} per line.
"""
import argparse
import collections
import json
import random
import re
import subprocess
import sys

WORD = re.compile(r"\w+")
MARKS = re.compile(r"\b(CORRECTED|CORRECTION|RPT|REPEAT|RE-SENT|RESENT)\b")
# (stratum, how many): Jaccard bands, then the special strata.
BANDS = [((0.05, 0.15), 55), ((0.15, 0.25), 55), ((0.25, 0.35), 55),
         ((0.35, 0.45), 55), ((0.45, 0.6), 55), ((0.6, 0.8), 55), ((0.8, 1.01), 45)]
CONTAINED = 60  # containment >= 0.5 of the shorter side, Jaccard < 0.4
MARKED = 60     # a title marks a correction or repeat
SAME_TITLE = 45 # two stories with one title
MAX_DF = 400    # shingles in more stories than this propose no pairs


def read(path):
    raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def shingles(text, n=5):
    w = WORD.findall(text.lower())
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/reuters/dev.jsonl.zst")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    docs = read(a.data)
    sets = [shingles(d["text"]) for d in docs]
    post = collections.defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            post[g].append(i)
    shared = collections.Counter()
    for ids in post.values():
        if 1 < len(ids) <= MAX_DF:
            for x in range(len(ids)):
                for y in range(x + 1, len(ids)):
                    shared[(ids[x], ids[y])] += 1
    pairs = {}
    for (i, j), n in shared.items():
        if n < 2:
            continue
        jac = n / (len(sets[i]) + len(sets[j]) - n)
        con = n / min(len(sets[i]), len(sets[j]))
        pairs[(i, j)] = (jac, con)
    rng = random.Random(a.seed)
    chosen = {}

    def take(stratum, keys, k):
        keys = sorted(k2 for k2 in keys if k2 not in chosen)
        for key in rng.sample(keys, min(k, len(keys))):
            chosen[key] = stratum

    for (lo, hi), k in BANDS:
        take(f"jaccard {lo:.2f}-{min(hi, 1.0):.2f}",
             [p for p, (j, _) in pairs.items() if lo <= j < hi], k)
    take("contained", [p for p, (j, c) in pairs.items() if c >= 0.5 and j < 0.4], CONTAINED)
    marked = [p for p, (j, c) in pairs.items()
              if (MARKS.search(docs[p[0]]["title"]) or MARKS.search(docs[p[1]]["title"]))
              and (j >= 0.05 or c >= 0.3)]
    take("title marks a correction or repeat", marked, MARKED)
    norm = lambda t: MARKS.sub("", t).strip(" ()-")
    titled = [p for p, (j, c) in pairs.items()
              if norm(docs[p[0]]["title"]) == norm(docs[p[1]]["title"])]
    take("same title", titled, SAME_TITLE)
    out = sorted(chosen.items(), key=lambda kv: (int(docs[kv[0][0]]["id"]), int(docs[kv[0][1]]["id"])))
    for (i, j), stratum in out:
        jac, con = pairs[(i, j)]
        print(json.dumps({"id1": docs[i]["id"], "id2": docs[j]["id"], "stratum": stratum,
                          "jaccard": round(jac, 4), "containment": round(con, 4)}))
    print(f"{len(out)} pairs from {len(pairs)} with two or more shared 5-grams",
          file=sys.stderr)


if __name__ == "__main__":
    main()
