//! Measuring a grouping against the truth: pairwise precision, recall and F1,
//! the adjusted Rand index, a breakdown by label, and the worst errors.
//!
//! The truth is either a clustering (every document with its cluster) or a
//! set of labelled pairs. Predicted groups come from `dedup --clusters` (or a
//! [`crate::dedup::DedupOutcome`]); a document in no group is alone.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Place, Record, Result};

/// What is known to be true.
#[derive(Debug, Clone, PartialEq)]
pub enum Truth {
    /// Every document's cluster: `id -> cluster`.
    Clusters(HashMap<String, String>),
    /// Labelled pairs `(id1, id2, label)`.
    Pairs(Vec<(String, String, String)>),
}

fn line_err(path: &Path, line: u64, reason: impl Into<String>) -> Error {
    Error::InvalidRecord {
        place: Place {
            path: path.display().to_string(),
            record: Some(Record::Line(line)),
        },
        reason: reason.into(),
    }
}

fn id_of(v: &Value, field: &str, path: &Path, line: u64) -> Result<String> {
    match v.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(line_err(
            path,
            line,
            format!("field {field:?} is missing or not a string or number"),
        )),
    }
}

fn json_lines(path: &Path) -> Result<Vec<(u64, Value)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let n = n as u64 + 1;
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| line_err(path, n, format!("invalid JSON: {e}")))?;
        out.push((n, v));
    }
    Ok(out)
}

/// Read a truth file: JSON Lines of `{"id", "cluster"}` (every document) or
/// of `{"id1", "id2", "label"}`, decided by the first line.
pub fn read_truth(path: &Path) -> Result<Truth> {
    let lines = json_lines(path)?;
    let pairs = lines.first().is_some_and(|(_, v)| v.get("id1").is_some());
    if pairs {
        let mut out = Vec::new();
        for (n, v) in &lines {
            let label = match v.get("label") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(x)) => x.to_string(),
                _ => return Err(line_err(path, *n, "field \"label\" is missing")),
            };
            out.push((
                id_of(v, "id1", path, *n)?,
                id_of(v, "id2", path, *n)?,
                label,
            ));
        }
        Ok(Truth::Pairs(out))
    } else {
        let mut out = HashMap::new();
        for (n, v) in &lines {
            let cluster = match v.get("cluster") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(x)) => x.to_string(),
                _ => {
                    return Err(line_err(
                        path,
                        *n,
                        "field \"cluster\" is missing (expected {\"id\", \"cluster\"} or {\"id1\", \"id2\", \"label\"})",
                    ));
                }
            };
            if out.insert(id_of(v, "id", path, *n)?, cluster).is_some() {
                return Err(line_err(path, *n, "this id is listed twice"));
            }
        }
        Ok(Truth::Clusters(out))
    }
}

/// Predicted groups: each grouped document's group number, and for each its
/// similarity to its group's kept document when known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predicted {
    /// `id -> group`.
    pub group: HashMap<String, usize>,
    /// `id -> similarity to the kept document`.
    pub similarity: HashMap<String, f64>,
    /// `group -> kept id`.
    pub kept: Vec<String>,
}

/// Read the `--clusters` output of `dedup`.
pub fn read_clusters(path: &Path) -> Result<Predicted> {
    let mut p = Predicted::default();
    for (n, v) in json_lines(path)? {
        let g = p.kept.len();
        p.kept.push(id_of(&v, "kept", path, n)?);
        let Some(Value::Array(members)) = v.get("members") else {
            return Err(line_err(
                path,
                n,
                "field \"members\" is missing or not an array",
            ));
        };
        for m in members {
            let id = id_of(m, "id", path, n)?;
            if let Some(s) = m.get("similarity").and_then(Value::as_f64) {
                p.similarity.insert(id.clone(), s);
            }
            p.group.insert(id, g);
        }
    }
    Ok(p)
}

/// Pair counts and the scores derived from them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PairScores {
    /// Pairs predicted together that are together in the truth.
    pub true_positives: u64,
    /// Pairs predicted together that are apart in the truth.
    pub false_positives: u64,
    /// Pairs together in the truth but predicted apart.
    pub false_negatives: u64,
    /// TP / (TP + FP); 1 when nothing was predicted.
    pub precision: f64,
    /// TP / (TP + FN); 1 when the truth has no pairs.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl PairScores {
    /// Scores from counts.
    pub fn new(tp: u64, fp: u64, fn_: u64) -> PairScores {
        let precision = if tp + fp == 0 {
            1.0
        } else {
            tp as f64 / (tp + fp) as f64
        };
        let recall = if tp + fn_ == 0 {
            1.0
        } else {
            tp as f64 / (tp + fn_) as f64
        };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        PairScores {
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
            precision,
            recall,
            f1,
        }
    }
}

/// One label's row of the pair breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelRow {
    /// The label.
    pub label: String,
    /// Whether it counts as "should be grouped".
    pub positive: bool,
    /// Pairs with it.
    pub pairs: usize,
    /// Of those, pairs predicted together.
    pub predicted_together: usize,
}

/// A pair the prediction got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorPair {
    /// First document.
    pub a: String,
    /// Second document.
    pub b: String,
    /// A similarity figure when one is known (to the kept document for a
    /// false merge; Jaccard when the documents were given).
    pub similarity: Option<f64>,
}

/// Everything `eval` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Pairwise scores.
    pub pairs: PairScores,
    /// Adjusted Rand index (clustering truth only).
    pub adjusted_rand_index: Option<f64>,
    /// Per-label breakdown (pair truth only).
    pub labels: Vec<LabelRow>,
    /// Pairs predicted together that should not be (all of them, unsorted).
    pub false_merges: Vec<ErrorPair>,
    /// Pairs that should be together but are not (all of them, unsorted).
    pub misses: Vec<ErrorPair>,
    /// Documents of the truth, or pairs of the truth.
    pub items: usize,
}

/// Labels that mean "not a copy" in pair truth; every other label is positive.
pub const NEGATIVE_LABELS: &[&str] = &[
    "non",
    "none",
    "negative",
    "no",
    "false",
    "0",
    "different",
    "unrelated",
];

fn choose2(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Compare a prediction with the truth. For pair truth, `positive` says which
/// labels mean "should be grouped".
pub fn evaluate(truth: &Truth, pred: &Predicted, positive: &dyn Fn(&str) -> bool) -> Evaluation {
    let together = |a: &str, b: &str| match (pred.group.get(a), pred.group.get(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    match truth {
        Truth::Pairs(pairs) => {
            let (mut tp, mut fp, mut fn_) = (0, 0, 0);
            let mut rows: Vec<LabelRow> = Vec::new();
            let (mut false_merges, mut misses) = (Vec::new(), Vec::new());
            for (a, b, label) in pairs {
                let pos = positive(label);
                let t = together(a, b);
                match (pos, t) {
                    (true, true) => tp += 1,
                    (false, true) => {
                        fp += 1;
                        false_merges.push(ErrorPair {
                            a: a.clone(),
                            b: b.clone(),
                            similarity: None,
                        });
                    }
                    (true, false) => {
                        fn_ += 1;
                        misses.push(ErrorPair {
                            a: a.clone(),
                            b: b.clone(),
                            similarity: None,
                        });
                    }
                    (false, false) => {}
                }
                match rows.iter_mut().find(|r| &r.label == label) {
                    Some(r) => {
                        r.pairs += 1;
                        r.predicted_together += t as usize;
                    }
                    None => rows.push(LabelRow {
                        label: label.clone(),
                        positive: pos,
                        pairs: 1,
                        predicted_together: t as usize,
                    }),
                }
            }
            rows.sort_by(|x, y| x.label.cmp(&y.label));
            Evaluation {
                pairs: PairScores::new(tp, fp, fn_),
                adjusted_rand_index: None,
                labels: rows,
                false_merges,
                misses,
                items: pairs.len(),
            }
        }
        Truth::Clusters(truth) => {
            // Contingency table over the truth's documents; a document in no
            // predicted group is its own group.
            let mut ids: Vec<&String> = truth.keys().collect();
            ids.sort();
            let mut cells: HashMap<(&str, Option<usize>), u64> = HashMap::new();
            let mut true_sizes: HashMap<&str, u64> = HashMap::new();
            let mut pred_sizes: HashMap<usize, u64> = HashMap::new();
            for id in &ids {
                let t = truth[*id].as_str();
                let p = pred.group.get(*id).copied();
                *true_sizes.entry(t).or_default() += 1;
                if let Some(g) = p {
                    *pred_sizes.entry(g).or_default() += 1;
                    *cells.entry((t, Some(g))).or_default() += 1;
                }
            }
            let tp: u64 = cells.values().map(|&n| choose2(n)).sum();
            let true_pairs: u64 = true_sizes.values().map(|&n| choose2(n)).sum();
            let pred_pairs: u64 = pred_sizes.values().map(|&n| choose2(n)).sum();
            let n = ids.len() as u64;
            let total = choose2(n) as f64;
            let expected = if total > 0.0 {
                true_pairs as f64 * pred_pairs as f64 / total
            } else {
                0.0
            };
            let max = (true_pairs + pred_pairs) as f64 / 2.0;
            let ari = if (max - expected).abs() < 1e-12 {
                1.0
            } else {
                (tp as f64 - expected) / (max - expected)
            };
            // Errors: within each predicted group, members whose true cluster
            // differs from the kept one's; within each true cluster, members
            // predicted apart from its first member.
            let mut false_merges = Vec::new();
            for id in &ids {
                if let Some(&g) = pred.group.get(*id) {
                    let kept = &pred.kept[g];
                    if let Some(kt) = truth.get(kept) {
                        if *id != kept && kt != &truth[*id] {
                            false_merges.push(ErrorPair {
                                a: kept.clone(),
                                b: (*id).clone(),
                                similarity: pred.similarity.get(*id).copied(),
                            });
                        }
                    }
                }
            }
            let mut first_of: HashMap<&str, &String> = HashMap::new();
            let mut misses = Vec::new();
            for id in &ids {
                let t = truth[*id].as_str();
                match first_of.get(t) {
                    Some(first) if !together(first, id) => misses.push(ErrorPair {
                        a: (*first).clone(),
                        b: (*id).clone(),
                        similarity: None,
                    }),
                    Some(_) => {}
                    None => {
                        first_of.insert(t, id);
                    }
                }
            }
            Evaluation {
                pairs: PairScores::new(tp, pred_pairs - tp, true_pairs - tp),
                adjusted_rand_index: Some(ari),
                labels: Vec::new(),
                false_merges,
                misses,
                items: ids.len(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clusters(pairs: &[(&str, &str)]) -> Truth {
        Truth::Clusters(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    fn predicted(groups: &[&[&str]]) -> Predicted {
        let mut p = Predicted::default();
        for (g, members) in groups.iter().enumerate() {
            p.kept.push(members[0].to_string());
            for m in *members {
                p.group.insert(m.to_string(), g);
            }
        }
        p
    }

    /// The obvious definition: every pair of documents, one by one.
    fn naive(truth: &HashMap<String, String>, pred: &Predicted) -> (u64, u64, u64) {
        let ids: Vec<&String> = truth.keys().collect();
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                let t = truth[ids[i]] == truth[ids[j]];
                let p = matches!((pred.group.get(ids[i]), pred.group.get(ids[j])), (Some(x), Some(y)) if x == y);
                match (t, p) {
                    (true, true) => tp += 1,
                    (false, true) => fp += 1,
                    (true, false) => fn_ += 1,
                    _ => {}
                }
            }
        }
        (tp, fp, fn_)
    }

    #[test]
    fn perfect_and_wrong_predictions() {
        let t = clusters(&[("a", "1"), ("b", "1"), ("c", "2"), ("d", "3")]);
        let e = evaluate(&t, &predicted(&[&["a", "b"]]), &|_| true);
        assert_eq!((e.pairs.f1, e.adjusted_rand_index), (1.0, Some(1.0)));
        let e = evaluate(&t, &predicted(&[&["a", "c"]]), &|_| true);
        assert_eq!(e.pairs.true_positives, 0);
        assert_eq!(e.false_merges.len(), 1);
        assert_eq!(e.misses.len(), 1);
        assert!(e.adjusted_rand_index.unwrap_or(1.0) < 0.0);
    }

    #[test]
    fn contingency_counts_match_all_pairs() {
        let mut rng = crate::synth::Rng::new(4);
        for _ in 0..50 {
            let n = 1 + rng.below(40) as usize;
            let truth: HashMap<String, String> = (0..n)
                .map(|i| (format!("d{i}"), format!("t{}", rng.below(6))))
                .collect();
            let mut p = Predicted::default();
            for i in 0..n {
                if rng.below(3) > 0 {
                    let g = rng.below(5) as usize;
                    while p.kept.len() <= g {
                        p.kept.push(format!("d{i}"));
                    }
                    p.group.insert(format!("d{i}"), g);
                }
            }
            let e = evaluate(&Truth::Clusters(truth.clone()), &p, &|_| true);
            let (tp, fp, fn_) = naive(&truth, &p);
            assert_eq!(
                (
                    e.pairs.true_positives,
                    e.pairs.false_positives,
                    e.pairs.false_negatives
                ),
                (tp, fp, fn_)
            );
        }
    }

    #[test]
    fn labelled_pairs() {
        let t = Truth::Pairs(vec![
            ("s".into(), "a".into(), "cut".into()),
            ("s".into(), "b".into(), "non".into()),
            ("s".into(), "c".into(), "light".into()),
        ]);
        let e = evaluate(&t, &predicted(&[&["s", "a", "b"]]), &|l| {
            !NEGATIVE_LABELS.contains(&l)
        });
        assert_eq!(
            (
                e.pairs.true_positives,
                e.pairs.false_positives,
                e.pairs.false_negatives
            ),
            (1, 1, 1)
        );
        assert_eq!(e.labels.len(), 3);
        assert!(e.adjusted_rand_index.is_none());
    }
}
