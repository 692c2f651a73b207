"""Deduplicate the example news articles on Spark (local[2] here; the same
code on a cluster with a SparkSession from spark-submit).

    python crates/lookalike-python/examples/spark_dedup.py [DIR]
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

import lookalike.spark
from pyspark.sql import SparkSession

root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[3] / "examples" / "news")
spark = (
    SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false").getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
rows = [
    {"id": str(p.relative_to(root)), "text": p.read_text()} for p in sorted(root.rglob("*.txt"))
]
df = spark.createDataFrame(rows)

out = lookalike.spark.dedup(df, text_col="text", id_col="id", threshold=0.4)
groups = out.filter("id != group").select("group", "id").orderBy("group", "id").collect()
for r in groups:
    print(f"{r['id']}  duplicates  {r['group']}")
print(f"{out.filter('kept').count()} of {out.count()} documents kept")
spark.stop()
