//! `lookalike eval` and `lookalike tune`: how good a grouping is, and which
//! settings would be best.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{Context, Result};
use lookalike::dedup::{Dedup, DedupOutcome};
use lookalike::eval::{
    ErrorPair, Evaluation, NEGATIVE_LABELS, Predicted, Truth, evaluate, read_clusters, read_truth,
};
use lookalike::fingerprint::Fingerprinter;
use lookalike::normalize::normalize;
use lookalike::verify::jaccard;
use serde::Serialize;

use crate::args::{EvalArgs, TuneArgs};
use crate::input;

/// Labels that count as "should be grouped", from `--positive` or by default
/// every label but the negative ones.
fn positive_labels(list: &Option<String>) -> impl Fn(&str) -> bool + '_ {
    move |label: &str| match list {
        Some(l) => l.split(',').any(|p| p.trim() == label),
        None => !NEGATIVE_LABELS.contains(&label),
    }
}

/// Jaccard similarity of each error pair, when the documents are at hand.
fn fill_similarities(errors: &mut [ErrorPair], texts: &HashMap<String, String>, overwrite: bool) {
    let fp = Fingerprinter::default();
    let mut cache: HashMap<&str, Vec<u64>> = HashMap::new();
    for e in errors.iter_mut() {
        if e.similarity.is_some() && !overwrite {
            continue;
        }
        let mut set = |id: &str| -> Option<Vec<u64>> {
            if let Some(s) = cache.get(id) {
                return Some(s.clone());
            }
            let (key, text) = texts.get_key_value(id)?;
            let s = fp.shingle.shingle(&normalize(text)).hashes;
            cache.insert(key.as_str(), s.clone());
            Some(s)
        };
        if let (Some(a), Some(b)) = (set(&e.a), set(&e.b)) {
            e.similarity = Some(jaccard(&a, &b));
        }
    }
}

fn sort_worst(errors: &mut [ErrorPair]) {
    errors.sort_by(|x, y| {
        y.similarity
            .unwrap_or(-1.0)
            .total_cmp(&x.similarity.unwrap_or(-1.0))
            .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
    });
}

pub fn run_eval(args: EvalArgs) -> Result<()> {
    let truth = read_truth(&args.truth)?;
    let pred = read_clusters(&args.pred)?;
    let mut e = evaluate(&truth, &pred, &positive_labels(&args.positive));
    if !args.docs.is_empty() {
        let (sources, _spool) = input::open_sources(&args.docs)?;
        let mut texts = HashMap::new();
        input::read_all(&sources, &args.read.options(), true, |batch| {
            texts.extend(batch)
        })?;
        fill_similarities(&mut e.false_merges, &texts, false);
        fill_similarities(&mut e.misses, &texts, true);
    }
    sort_worst(&mut e.false_merges);
    sort_worst(&mut e.misses);
    let mut out = std::io::stdout().lock();
    if args.json {
        e.false_merges.truncate(args.errors);
        e.misses.truncate(args.errors);
        serde_json::to_writer_pretty(&mut out, &e)?;
        writeln!(out)?;
        return Ok(());
    }
    print_evaluation(&mut out, &truth, &e, args.errors)?;
    Ok(())
}

fn print_evaluation(
    out: &mut impl Write,
    truth: &Truth,
    e: &Evaluation,
    errors: usize,
) -> Result<()> {
    match truth {
        Truth::Clusters(_) => writeln!(out, "truth: a clustering of {} documents", e.items)?,
        Truth::Pairs(_) => writeln!(out, "truth: {} labelled pairs", e.items)?,
    }
    let p = &e.pairs;
    writeln!(
        out,
        "pairwise  precision {:.4}  recall {:.4}  F1 {:.4}   (true pairs found {}, false merges {}, misses {})",
        p.precision, p.recall, p.f1, p.true_positives, p.false_positives, p.false_negatives
    )?;
    if let Some(ari) = e.adjusted_rand_index {
        writeln!(out, "adjusted Rand index {ari:.4}")?;
    }
    if !e.labels.is_empty() {
        writeln!(
            out,
            "\n{:<16} {:>8} {:>8} {:>10} {:>8}",
            "label", "counts as", "pairs", "together", "rate"
        )?;
        for r in &e.labels {
            writeln!(
                out,
                "{:<16} {:>9} {:>8} {:>10} {:>8.3}",
                r.label,
                if r.positive { "copy" } else { "not" },
                r.pairs,
                r.predicted_together,
                r.predicted_together as f64 / r.pairs.max(1) as f64
            )?;
        }
    }
    for (title, list) in [
        (
            "false merges (grouped, but apart in the truth)",
            &e.false_merges,
        ),
        ("misses (together in the truth, not grouped)", &e.misses),
    ] {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "\n{title}: {}, most similar first", list.len())?;
        for x in list.iter().take(errors) {
            match x.similarity {
                Some(s) => writeln!(out, "  {:.3}  {}  ~  {}", s, x.a, x.b)?,
                None => writeln!(out, "    -    {}  ~  {}", x.a, x.b)?,
            }
        }
        if list.len() > errors {
            writeln!(
                out,
                "  ... and {} more (--errors N shows more)",
                list.len() - errors
            )?;
        }
    }
    Ok(())
}

/// Predicted groups of an in-memory outcome, in the form `eval` reads.
pub fn predicted(outcome: &DedupOutcome) -> Predicted {
    let mut p = Predicted::default();
    for (g, group) in outcome.groups.iter().enumerate() {
        p.kept.push(outcome.ids[group.kept].to_string());
        for m in &group.members {
            p.group.insert(outcome.ids[m.index].to_string(), g);
            p.similarity
                .insert(outcome.ids[m.index].to_string(), m.similarity);
        }
    }
    p
}

#[derive(Serialize, Clone, Copy)]
struct TuneRow {
    ngram: usize,
    threshold: f64,
    precision: f64,
    recall: f64,
    f1: f64,
    adjusted_rand_index: Option<f64>,
    groups: usize,
}

pub fn run_tune(args: TuneArgs) -> Result<()> {
    let truth = read_truth(&args.truth)?;
    let positive = positive_labels(&args.positive);
    let thresholds = parse_thresholds(&args.thresholds)?;
    let (sources, _spool) = input::open_sources(&args.inputs)?;
    let mut docs: Vec<(String, String)> = Vec::new();
    input::read_all(&sources, &args.read.options(), true, |batch| {
        docs.extend(batch)
    })?;
    let mut rows = Vec::new();
    for &n in &args.ngrams {
        let mut engine = args.engine.clone();
        engine.ngram = n;
        let mut d = Dedup::new(lookalike::dedup::DedupConfig {
            shingle: engine.shingle(),
            sketch: engine.sketch(),
            ..Default::default()
        })?;
        d.add_batch(docs.clone());
        for &t in &thresholds {
            let outcome = d.outcome_at(t)?;
            let e = evaluate(&truth, &predicted(&outcome), &positive);
            rows.push(TuneRow {
                ngram: n,
                threshold: t,
                precision: e.pairs.precision,
                recall: e.pairs.recall,
                f1: e.pairs.f1,
                adjusted_rand_index: e.adjusted_rand_index,
                groups: outcome.groups.len(),
            });
        }
    }
    let best = recommend(&rows).context("no setting to try: give --thresholds and --ngrams")?;
    if let Some(path) = &args.plot {
        crate::plot::tune_svg(
            path,
            &rows
                .iter()
                .map(|r| (r.ngram, r.threshold, r.precision, r.recall, r.f1))
                .collect::<Vec<_>>(),
            best.ngram,
            best.threshold,
        )?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"settings": rows, "recommended": best}),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "ngram", "threshold", "precision", "recall", "F1", "ARI", "groups"
    )?;
    for r in &rows {
        let ari = r
            .adjusted_rand_index
            .map_or("-".to_string(), |a| format!("{a:.4}"));
        let mark = if r.ngram == best.ngram && r.threshold == best.threshold {
            "  <- recommended"
        } else {
            ""
        };
        writeln!(
            out,
            "{:>6} {:>9.2} {:>9.4} {:>9.4} {:>9.4} {:>9} {:>7}{mark}",
            r.ngram, r.threshold, r.precision, r.recall, r.f1, ari, r.groups
        )?;
    }
    writeln!(
        out,
        "\nrecommended: --ngram {} --threshold {:.2}  (F1 {:.4}, precision {:.4}, recall {:.4})",
        best.ngram, best.threshold, best.f1, best.precision, best.recall
    )?;
    if let Some(p) = &args.plot {
        writeln!(out, "plot: {}", p.display())?;
    }
    Ok(())
}

/// `0.1:0.95:0.05` (from:to:step) or `0.3,0.5,0.8`.
fn parse_thresholds(spec: &str) -> Result<Vec<f64>> {
    let bad = || {
        lookalike::Error::Config(format!(
            "--thresholds {spec:?}: expected FROM:TO:STEP or a comma-separated list of numbers in (0, 1]"
        ))
    };
    let list: Vec<f64> = if let [from, to, step] = spec.split(':').collect::<Vec<_>>()[..] {
        let (from, to, step): (f64, f64, f64) = (
            from.parse().map_err(|_| bad())?,
            to.parse().map_err(|_| bad())?,
            step.parse().map_err(|_| bad())?,
        );
        if step.is_nan() || step <= 0.0 || from > to {
            return Err(bad().into());
        }
        let n = ((to - from) / step + 1e-9).floor() as usize;
        (0..=n)
            .map(|i| ((from + i as f64 * step) * 1e6).round() / 1e6)
            .collect()
    } else {
        spec.split(',')
            .map(|x| x.trim().parse::<f64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?
    };
    if list.is_empty() || list.iter().any(|t| !(*t > 0.0 && *t <= 1.0)) {
        return Err(bad().into());
    }
    Ok(list)
}

/// The recommended setting: the best F1; among n-gram sizes that reach it,
/// the one with the widest run of consecutive thresholds reaching it (ties:
/// the larger n), and the middle threshold of that run, which leaves the most
/// room on both sides for data unlike the truth set.
fn recommend(rows: &[TuneRow]) -> Option<TuneRow> {
    let best_f1 = rows.iter().map(|r| r.f1).fold(f64::NEG_INFINITY, f64::max);
    let mut choice: Option<(usize, usize, &[TuneRow])> = None; // (run length, n, run)
    let mut start = 0;
    while start < rows.len() {
        let n = rows[start].ngram;
        let end = start + rows[start..].iter().take_while(|r| r.ngram == n).count();
        let block = &rows[start..end];
        let mut i = 0;
        while i < block.len() {
            if (block[i].f1 - best_f1).abs() > 1e-12 {
                i += 1;
                continue;
            }
            let j = i + block[i..]
                .iter()
                .take_while(|r| (r.f1 - best_f1).abs() <= 1e-12)
                .count();
            let better = match choice {
                None => true,
                Some((len, cn, _)) => (j - i, n) > (len, cn),
            };
            if better {
                choice = Some((j - i, n, &block[i..j]));
            }
            i = j;
        }
        start = end;
    }
    choice.map(|(_, _, run)| run[(run.len() - 1) / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ngram: usize, threshold: f64, f1: f64) -> TuneRow {
        TuneRow {
            ngram,
            threshold,
            precision: 1.0,
            recall: f1,
            f1,
            adjusted_rand_index: None,
            groups: 0,
        }
    }

    #[test]
    fn recommends_the_middle_of_the_widest_best_run() {
        let rows = [
            row(3, 0.3, 0.8),
            row(3, 0.4, 1.0),
            row(3, 0.5, 1.0),
            row(3, 0.6, 0.9),
            row(5, 0.3, 1.0),
            row(5, 0.4, 1.0),
            row(5, 0.5, 1.0),
            row(5, 0.6, 1.0),
            row(5, 0.7, 0.5),
        ];
        let best = recommend(&rows).map(|r| (r.ngram, r.threshold));
        assert_eq!(best, Some((5, 0.4)));
        assert_eq!(
            parse_thresholds("0.1:0.3:0.1").ok(),
            Some(vec![0.1, 0.2, 0.3])
        );
        assert!(parse_thresholds("0:1:0.1").is_err());
        assert!(parse_thresholds("0.5,x").is_err());
    }
}
