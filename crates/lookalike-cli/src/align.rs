//! `lookalike align A B`: the passages two files share, and where they differ.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use lookalike::align::AlignConfig;
use lookalike::render::{self, Style};

use crate::args::AlignArgs;
use crate::input::read_whole;

pub fn run(args: AlignArgs) -> Result<()> {
    let (a, b) = (
        read_whole(&args.a, args.invalid_utf8)?,
        read_whole(&args.b, args.invalid_utf8)?,
    );
    let config = AlignConfig {
        min_passage_words: args.min_words,
        max_gap_words: args.max_gap,
        ..AlignConfig::default()
    };
    let al = config.align(&a, &b);
    let (an, bn) = (args.a.display().to_string(), args.b.display().to_string());
    if let Some(path) = &args.html {
        std::fs::write(path, render::html(&an, &a, &bn, &b, &al))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let report = al.view((Some(&an), Some(&bn)));
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else if args.html.is_none() || args.show {
        let color = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let style = if color { Style::Color } else { Style::Plain };
        out.write_all(render::terminal(&an, &a, &bn, &b, &al, style).as_bytes())?;
    }
    Ok(())
}
