#!/usr/bin/env python3
"""Generated wire templates: scheduled reports that repeat one form with
other figures on other days, beside corrections (one figure among many
changed, minutes later) and re-sends (the same report, a word or two
changed, within hours). Measures whether `lookalike dedup` keeps editions
of a template apart and groups each edition with its corrections and
re-sends.

Every form is written here. Usage (from the repository root, after
`cargo build --release`):
    python3 eval/wire.py [--editions 15] [--seed 1]
Prints the Markdown table recorded in EVALUATION.md.
"""
import argparse
import datetime
import itertools
import json
import os
import random
import subprocess
import tempfile

BIN = os.path.join("target", "release", "lookalike")

# Each form: a title and a body with {} slots for figures. The wording stays;
# the figures are the news.
FORMS = [
    ("HARBOUR BOARD SETS DISCOUNT NOTE RATES",
     "The Harbour Board said it set the following rates on its short-term discount "
     "notes, effective {day}: 30 to 59 days {} pct, from {} pct; 60 to 89 days {} pct, "
     "from {} pct; 90 to 179 days {} pct, from {} pct; 180 to 270 days {} pct, from {} "
     "pct. The board sells the notes through a group of dealers each business day."),
    ("GRAIN SHIPS LOADING AT EASTPORT",
     "There were {} grain ships loading and {} waiting to load at Eastport on {day}, "
     "according to the port's grain exchange. Of the ships waiting, {} were due to "
     "load wheat, {} corn and {} soybeans. The exchange said {} ships had cleared the "
     "port since its last report, carrying {} tonnes in all."),
    ("CENTRAL BANK ADDS RESERVES THROUGH REPURCHASES",
     "The central bank said it added temporary reserves to the banking system on "
     "{day} through {} billion dlrs of customer repurchase agreements. Dealers said "
     "the funds rate was trading at {} pct when the bank entered the market, against "
     "{} pct at the previous close, and that the bank had been expected to add about "
     "{} billion dlrs."),
    ("VALLEY COFFEE RAINFALL REPORT",
     "Rainfall in the main coffee districts of the valley in the week to {day} was as "
     "follows, in millimetres, with last year's figure in brackets: north {} ({}), "
     "central {} ({}), south {} ({}), highlands {} ({}). Growers said the rains were "
     "in line with what the trees need at this stage of the season."),
    ("FEEDER STEER PRICE INDEX",
     "The feeder steer price index, a seven-day average of auction and direct sales "
     "used to settle the feeder cattle contract, was {} dlrs per hundredweight on "
     "{day}, against {} dlrs the previous day. The index covers steers weighing "
     "between {} and {} lbs from {} states."),
    ("MONEY MARKET SHORTAGE FORECAST",
     "The central bank forecast a shortage of around {} mln stg in the money market "
     "on {day}. Among the main factors, maturing assistance and bill repayments will "
     "drain {} mln stg and a rise in the note circulation {} mln stg, while bankers' "
     "balances above target will add some {} mln stg."),
]
WORDS = ["said", "reported", "stated", "announced"]


def figures(rng, n):
    return [f"{rng.uniform(1, 99):.2f}" if rng.random() < 0.6 else str(rng.randint(2, 950))
            for _ in range(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--editions", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    start = datetime.datetime(2026, 3, 2, 9, 0)
    docs = []  # (id, story, text, time)
    for f, (title, body) in enumerate(FORMS):
        slots = body.count("{}")
        for e in range(a.editions):
            when = start + datetime.timedelta(days=e * rng.choice([1, 7]), minutes=rng.randint(0, 90))
            day = when.strftime("%B %d").replace(" 0", " ")
            values = figures(rng, slots)
            text = f"{title}\n{body.format(*values, day=day)}"
            story = f"f{f}e{e}"
            docs.append((f"{story}", story, text, when))
            if rng.random() < 0.4:  # a correction: one figure changed
                fixed = list(values)
                fixed[rng.randrange(slots)] = figures(rng, 1)[0]
                docs.append((f"{story}-corrected", story,
                             f"CORRECTED - {title}\n{body.format(*fixed, day=day)}",
                             when + datetime.timedelta(minutes=rng.randint(10, 90))))
            if rng.random() < 0.3:  # a re-send: a word changed
                words = text.split()
                said = [i for i, w in enumerate(words) if w in WORDS]
                if said:
                    words[rng.choice(said)] = rng.choice(WORDS)
                words.insert(0, "REPEAT")
                docs.append((f"{story}-resent", story, " ".join(words),
                             when + datetime.timedelta(hours=rng.randint(1, 6))))
    story_of = {d[0]: d[1] for d in docs}
    true_pairs = {frozenset(p) for p in itertools.combinations(story_of, 2)
                  if story_of[p[0]] == story_of[p[1]]}
    print(f"{len(docs)} reports: {len(FORMS)} forms x {a.editions} editions, "
          f"{sum('-corrected' in d[0] for d in docs)} corrections, "
          f"{sum('-resent' in d[0] for d in docs)} re-sends; {len(true_pairs)} pairs of one story\n")
    print("| setting | precision | recall | F1 | groups holding two editions |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "wire.jsonl")
        with open(path, "w") as out:
            out.writelines(json.dumps({"id": i, "text": t, "timestamp": w.strftime("%Y-%m-%dT%H:%M:%SZ")})
                           + "\n" for i, _, t, w in docs)
        for name, flags in [("plain, threshold 0.4 (default)", []),
                            ("plain, threshold 0.8", ["--threshold", "0.8"]),
                            ("story, no times", ["--judge", "story"]),
                            ("story, with times", ["--judge", "story", "--time-field", "timestamp"])]:
            clusters = os.path.join(tmp, "clusters.jsonl")
            subprocess.run([BIN, "dedup", path, "--clusters", clusters, "--quiet"] + flags, check=True)
            with open(clusters) as f:
                groups = [[m["id"] for m in json.loads(line)["members"]] for line in f]
            pred = {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}
            tp = len(pred & true_pairs)
            prec = tp / len(pred) if pred else 1.0
            rec = tp / len(true_pairs) if true_pairs else 1.0
            f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
            mixed = sum(1 for g in groups if len({story_of[i] for i in g}) > 1)
            print(f"| {name} | {prec:.3f} | {rec:.3f} | **{f1:.3f}** | {mixed} |")


if __name__ == "__main__":
    main()
