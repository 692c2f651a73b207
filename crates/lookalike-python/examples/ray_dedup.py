"""Deduplicate the example news articles on Ray Data (a local Ray here;
`ray.init(address="auto")` on a cluster).

    python crates/lookalike-python/examples/ray_dedup.py [DIR]
"""

import sys
from pathlib import Path

import lookalike.ray
import ray
import ray.data

root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[3] / "examples" / "news")
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
ray.data.DataContext.get_current().enable_progress_bars = False
rows = [
    {"id": str(p.relative_to(root)), "text": p.read_text()} for p in sorted(root.rglob("*.txt"))
]
ds = ray.data.from_items(rows)

out = lookalike.ray.dedup(ds, text_col="text", id_col="id", threshold=0.4)
rows = sorted(
    out.select_columns(["id", "group", "kept"]).take_all(), key=lambda r: (r["group"], r["id"])
)
for r in rows:
    if r["id"] != r["group"]:
        print(f"{r['id']}  duplicates  {r['group']}")
print(f"{sum(r['kept'] for r in rows)} of {len(rows)} documents kept")
ray.shutdown()
