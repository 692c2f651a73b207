#!/usr/bin/env python3
"""A generated one-site corpus: every page is a different article inside one
site's template, and some pages are light edits of others. Measures whether
`lookalike dedup` keeps different articles apart and finds the copies.

The site's frame (masthead, navigation, a rotating "most read" box, a
footer) is written here; the articles are passages of public-domain books
(../shared/data/gutenberg/books.jsonl.zst), one passage of 60-140 words per
book, so that their shingle statistics are those of real prose. A light edit
changes 2-4 words of the article, the page's date and its "most read" box.

Usage (from the repository root, after `cargo build --release`):
    python3 eval/site.py [--pages 1000] [--copies 120] [--seed 1]
Prints the Markdown table recorded in EVALUATION.md.
"""
import argparse
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile

BIN = os.path.join("target", "release", "lookalike")
BOOKS = os.path.join("..", "shared", "data", "gutenberg", "books.jsonl.zst")
WORD = re.compile(r"\w+")

MASTHEAD = ("The Valley Courier | Home | News | Local | Business | Sport | Weather | Opinion | "
            "Arts and Culture | Obituaries | Puzzles | Subscribe | Sign in | Search the Courier "
            "archive of stories, photographs and notices from across the valley since 1921")
BYLINE = "By the Courier newsroom | Published {date} | Updated {date} | {minutes} minute read"
SHARE = ("Share this story: email, print, copy link. Support local journalism: subscribe today "
         "from two pounds a week and read every story on any device, ad free.")
MOST_READ = [
    "Council approves new bus timetable for the valley routes",
    "Flood defences to be strengthened before the winter storms",
    "Local bakery wins regional award for its sourdough loaf",
    "School inspectors praise improvements at the secondary academy",
    "Road closures planned on the ring road for resurfacing work",
    "Library extends opening hours on weekday evenings",
    "Cricket club celebrates its centenary season with a festival",
    "Hospital car park charges to rise from next month",
    "New cycle path links the station with the retail park",
    "Farmers market returns to the square every second Saturday",
    "Police appeal for witnesses after a collision on the bypass",
    "Theatre announces its spring programme of plays and concerts",
    "Recycling collections change to fortnightly from April",
    "Volunteers clear litter from the riverside walk",
    "Planning inquiry opens into the housing scheme on the hill",
    "Swimming pool reopens after a year of refurbishment",
]
FOOTER = ("About the Courier | Contact the newsroom | Advertise with us | Careers | Complaints "
          "and corrections | Editorial code of practice | Privacy notice | Cookie settings | "
          "Terms and conditions | Accessibility | Sitemap | Newsletters: morning briefing, "
          "weekend reads, sport extra | Follow us on social media for breaking news, traffic and "
          "travel updates and weather warnings across the valley. Copyright The Valley Courier "
          "Limited. All rights reserved. Registered in England and Wales. The Courier is a member "
          "of the independent press standards organisation and abides by its editors code. Reader "
          "help centre: answers about subscriptions, delivery, digital editions and accounts.")


def passages(n, rng):
    """n passages of 60-140 words, one per book, no two sharing a 5-gram."""
    proc = subprocess.Popen(["zstd", "-dc", BOOKS], stdout=subprocess.PIPE)
    out, seen = [], set()
    for line in io.TextIOWrapper(proc.stdout, encoding="utf-8"):
        words = json.loads(line)["text"].split()
        if len(words) < 5000:
            continue
        start = rng.randrange(len(words) // 4, len(words) - 200)
        text = " ".join(words[start:start + rng.randint(60, 140)])
        toks = WORD.findall(text.lower())
        grams = {tuple(toks[i:i + 5]) for i in range(len(toks) - 4)}
        if grams & seen:
            continue
        seen |= grams
        out.append(text)
        if len(out) == n:
            break
    proc.kill()
    if len(out) < n:
        sys.exit(f"only {len(out)} passages found in {BOOKS}")
    return out


def page(article, rng):
    date = f"{rng.randint(1, 28)} {rng.choice(['March', 'April', 'May', 'June'])} 2026"
    box = " | ".join(rng.sample(MOST_READ, 6))
    return "\n".join([MASTHEAD, BYLINE.format(date=date, minutes=rng.randint(2, 6)), article,
                      SHARE, "Most read: " + box, FOOTER])


def light_edit(article, rng):
    words = article.split()
    for _ in range(rng.randint(2, 4)):
        i = rng.randrange(len(words))
        words[i] = rng.choice(["indeed", "also", "later", "quietly", "then", "still"])
    return " ".join(words)


def index_table(tmp, path, docs, truth, copies):
    """The same pages into an index (`index add`), all in one batch or one
    page at a time, in input order: matches between pages of different
    articles (counted from the 21st page on, when an index that judges
    stories has statistics) and copies that found their article's page."""
    rows = ["| index | matches between different articles (pages 21 on) | copies found |",
            "|---|---|---|"]
    for name, create, one_by_one in [("plain", [], False),
                                     ("story, one batch", ["--judge", "story"], False),
                                     ("story, one page at a time", ["--judge", "story"], True)]:
        ix = os.path.join(tmp, f"{len(rows)}.redb")
        subprocess.run([BIN, "index", "create", ix] + create, check=True,
                       capture_output=True)
        if one_by_one:
            answers = []
            for id_, _, text in docs:
                line = json.dumps({"id": id_, "text": text}) + "\n"
                out = subprocess.run([BIN, "index", "add", ix, "-", "--quiet"], input=line,
                                     capture_output=True, text=True, check=True).stdout
                answers.append(json.loads(out))
        else:
            out = subprocess.run([BIN, "index", "add", ix, path, "--quiet"], check=True,
                                 capture_output=True, text=True).stdout
            answers = [json.loads(line) for line in out.splitlines()]
        mixed = sum(1 for n, ans in enumerate(answers) if n >= 20
                    for m in ans["matches"] if truth[m["id"]] != truth[ans["id"]])
        found = sum(1 for ans in answers if ans["id"].startswith("copy-")
                    and any(m["id"] == f"page-{truth[ans['id']]:04d}" for m in ans["matches"]))
        rows.append(f"| {name} | {mixed} | {found}/{copies} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--copies", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not os.path.exists(BOOKS):
        sys.exit(f"{BOOKS} is absent: the Gutenberg books live in ../shared")
    rng = random.Random(a.seed)
    arts = passages(a.pages, rng)
    docs = [(f"page-{i:04d}", i, page(t, rng)) for i, t in enumerate(arts)]
    for k, i in enumerate(rng.sample(range(a.pages), a.copies)):
        docs.append((f"copy-{k:03d}-of-{i:04d}", i, page(light_edit(arts[i], rng), rng)))
    template_share = 1 - sum(len(arts[c].split()) for _, c, _ in docs) / sum(
        len(t.split()) for _, _, t in docs)
    print(f"{len(docs)} pages ({a.copies} light-edit copies), template "
          f"{100 * template_share:.0f}% of the words\n")
    print("| setting | groups | groups holding two different articles | copies found |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "site.jsonl")
        with open(path, "w") as f:
            for id_, _, text in docs:
                f.write(json.dumps({"id": id_, "text": text}) + "\n")
        truth = {id_: c for id_, c, _ in docs}
        for name, flags in [("plain, threshold 0.4 (default)", []),
                            ("plain, threshold 0.8", ["--threshold", "0.8"]),
                            ("story", ["--judge", "story"])]:
            out = os.path.join(tmp, "clusters.jsonl")
            subprocess.run([BIN, "dedup", path, "--clusters", out, "--quiet"] + flags, check=True)
            with open(out) as f:
                groups = [[m["id"] for m in json.loads(line)["members"]] for line in f]
            mixed = sum(1 for g in groups if len({truth[i] for i in g}) > 1)
            where = {i: n for n, g in enumerate(groups) for i in g}
            found = sum(1 for id_, c, _ in docs if id_.startswith("copy-")
                        and id_ in where and where.get(f"page-{c:04d}") == where[id_])
            print(f"| {name} | {len(groups)} | {mixed} | {found}/{a.copies} |")
        print()
        print(index_table(tmp, path, docs, truth, a.copies))


if __name__ == "__main__":
    main()
