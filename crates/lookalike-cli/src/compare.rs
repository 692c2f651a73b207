//! `lookalike compare A B`: every figure for one pair.

use anyhow::Result;
use lookalike::compare::CompareConfig;
use lookalike::fingerprint::Fingerprinter;

use crate::args::CompareArgs;
use crate::input::read_whole;

pub fn run(args: CompareArgs) -> Result<()> {
    let config = CompareConfig {
        fingerprinter: Fingerprinter {
            shingle: args.engine.shingle(),
            sketch: args.engine.sketch(),
        },
        threshold: args.engine.threshold,
        containment: args.containment,
    };
    let (ta, tb) = (
        read_whole(&args.a, args.invalid_utf8)?,
        read_whole(&args.b, args.invalid_utf8)?,
    );
    let mut report = config.compare(&ta, &tb)?;
    let (threshold, verdict) = (report.threshold, report.verdict);
    let (bands, rows, longest) = (
        report.lsh_bands,
        report.lsh_rows,
        report.longest_passage_words,
    );
    report.a.path = Some(args.a.display().to_string());
    report.b.path = Some(args.b.display().to_string());
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    let unit = match args.engine.unit {
        crate::args::UnitArg::Words => "words",
        crate::args::UnitArg::Chars => "chars",
    };
    let n = args.engine.ngram;
    for (label, s) in [("A", &report.a), ("B", &report.b)] {
        writeln!(
            out,
            "{label}  {}  ({} bytes, {} {unit}, {} distinct {n}-gram shingles)",
            s.path.as_deref().unwrap_or_default(),
            s.bytes,
            s.units,
            s.shingles
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "  Jaccard similarity (exact)      {:.3}",
        report.jaccard
    )?;
    writeln!(
        out,
        "  Jaccard similarity (MinHash)    {:.3}   ({} slots)",
        report.jaccard_estimate, args.engine.slots
    )?;
    writeln!(
        out,
        "  containment of A in B           {:.3}",
        report.containment_a_in_b
    )?;
    writeln!(
        out,
        "  containment of B in A           {:.3}",
        report.containment_b_in_a
    )?;
    writeln!(
        out,
        "  LSH candidate probability       {:.3}   ({} bands x {} rows)",
        report.lsh_candidate_probability, bands, rows
    )?;
    writeln!(
        out,
        "  shared passages                 {}   (longest {} words; `lookalike align` shows them)",
        report.shared_passages, longest
    )?;
    writeln!(out)?;
    writeln!(out, "verdict at threshold {threshold}: {verdict}")?;
    let story = &report.story;
    writeln!(out)?;
    writeln!(
        out,
        "story judgment (one pair: no collection to learn template text from, every shingle counts)"
    )?;
    writeln!(
        out,
        "  content of the shorter inside the other  {:.3}",
        story.content_containment
    )?;
    match story.facts_agreement {
        Some(f) => writeln!(
            out,
            "  its number tokens found in the other     {:.3}   ({} of A's and {} of B's differ)",
            f, story.differing_facts.0, story.differing_facts.1
        )?,
        None => writeln!(
            out,
            "  number tokens                            too few to weigh"
        )?,
    }
    let said = match story.story {
        lookalike::judge::Story::Same => "the same story (versions of one text)",
        lookalike::judge::Story::Template => {
            "the same template with other facts, not the same story"
        }
        lookalike::judge::Story::Different => "different stories",
    };
    writeln!(out, "story verdict: {said}")?;
    Ok(())
}
