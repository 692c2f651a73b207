//! Showing an alignment to a person: as marked-up text for a terminal, and as
//! one self-contained HTML page with both texts side by side.
//!
//! Both views walk the same sequence: the unshared stretches of each side
//! that come before a passage, then the passage, whose small differences are
//! shown inline (`[-words of A-]{+words of B+}`, the markers `git diff
//! --word-diff` uses).

use std::fmt::Write as _;

use crate::align::{Alignment, Passage, Span};

/// One piece of the side-by-side walk.
enum Piece<'a> {
    AOnly(&'a Span),
    BOnly(&'a Span),
    Shared(usize, &'a Passage),
}

fn walk(al: &Alignment) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let (mut ia, mut ib) = (0, 0);
    for (k, p) in al.passages.iter().enumerate() {
        while ia < al.a_unshared.len() && al.a_unshared[ia].start < p.a.start {
            out.push(Piece::AOnly(&al.a_unshared[ia]));
            ia += 1;
        }
        while ib < al.b_unshared.len() && al.b_unshared[ib].start < p.b.start {
            out.push(Piece::BOnly(&al.b_unshared[ib]));
            ib += 1;
        }
        out.push(Piece::Shared(k, p));
    }
    out.extend(al.a_unshared[ia..].iter().map(Piece::AOnly));
    out.extend(al.b_unshared[ib..].iter().map(Piece::BOnly));
    out
}

fn text<'t>(t: &'t str, s: &Span) -> &'t str {
    t.get(s.byte_start..s.byte_end).unwrap_or("")
}

/// Colours for the terminal view: `None` for plain markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Markers only (`[A only]`, `[-…-]`, `{+…+}`), for pipes and files.
    Plain,
    /// ANSI colours as well: red for A, green for B.
    Color,
}

/// The terminal view of an alignment of texts `a` and `b`.
pub fn terminal(
    a_name: &str,
    a: &str,
    b_name: &str,
    b: &str,
    al: &Alignment,
    style: Style,
) -> String {
    let (red, green, bold, dim, reset) = match style {
        Style::Color => ("\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[2m", "\x1b[0m"),
        Style::Plain => ("", "", "", "", ""),
    };
    let mut o = String::new();
    let _ = writeln!(o, "{bold}A{reset} {a_name} ({} words)", al.a_words);
    let _ = writeln!(o, "{bold}B{reset} {b_name} ({} words)", al.b_words);
    let _ = writeln!(
        o,
        "{} shared passage{}, covering {:.1}% of A and {:.1}% of B\n",
        al.passages.len(),
        if al.passages.len() == 1 { "" } else { "s" },
        al.a_coverage * 100.0,
        al.b_coverage * 100.0
    );
    for piece in walk(al) {
        match piece {
            Piece::AOnly(s) => {
                let _ = writeln!(
                    o,
                    "{red}[A only, {} words]{reset} {red}{}{reset}\n",
                    s.words,
                    text(a, s)
                );
            }
            Piece::BOnly(s) => {
                let _ = writeln!(
                    o,
                    "{green}[B only, {} words]{reset} {green}{}{reset}\n",
                    s.words,
                    text(b, s)
                );
            }
            Piece::Shared(k, p) => {
                let _ = writeln!(
                    o,
                    "{bold}[shared {}, {} words]{reset} {dim}A chars {}-{}, B chars {}-{}{reset}",
                    k + 1,
                    p.matched_words,
                    p.a.start,
                    p.a.end,
                    p.b.start,
                    p.b.end
                );
                let mut at = p.a.byte_start;
                for e in &p.edits {
                    o.push_str(a.get(at..e.a.byte_start).unwrap_or(""));
                    if e.a.words > 0 {
                        let _ = write!(o, "{red}[-{}-]{reset}", text(a, &e.a));
                    }
                    if e.b.words > 0 {
                        let _ = write!(o, "{green}{{+{}+}}{reset}", text(b, &e.b));
                        // A pure insertion sits right before A's next word.
                        if e.a.words == 0 {
                            o.push(' ');
                        }
                    }
                    at = e.a.byte_end.max(at);
                }
                o.push_str(a.get(at..p.a.byte_end).unwrap_or(""));
                o.push_str("\n\n");
            }
        }
    }
    o
}

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Which side of the page is being written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// One side's text with passages, edits and unshared stretches marked.
fn side_html(t: &str, al: &Alignment, side: Side) -> String {
    let (me, other) = match side {
        Side::A => ("a", "b"),
        Side::B => ("b", "a"),
    };
    let pick = |p: &Passage| match side {
        Side::A => p.a,
        Side::B => p.b,
    };
    let unshared = match side {
        Side::A => &al.a_unshared,
        Side::B => &al.b_unshared,
    };
    // Marks sorted by start: (start, end, kind) where kind is a passage index
    // or an unshared stretch.
    let mut marks: Vec<(usize, usize, Option<usize>)> = al
        .passages
        .iter()
        .enumerate()
        .map(|(k, p)| (pick(p).byte_start, pick(p).byte_end, Some(k)))
        .chain(unshared.iter().map(|s| (s.byte_start, s.byte_end, None)))
        .collect();
    marks.sort_unstable();
    let mut o = String::new();
    let mut at = 0;
    for (start, end, kind) in marks {
        if start < at || end > t.len() {
            continue;
        }
        o.push_str(&escape(t.get(at..start).unwrap_or("")));
        match kind {
            None => {
                let _ = write!(
                    o,
                    "<span class=\"only\">{}</span>",
                    escape(t.get(start..end).unwrap_or(""))
                );
            }
            Some(k) => {
                let p = &al.passages[k];
                let _ = write!(
                    o,
                    "<a class=\"passage\" id=\"{me}-p{n}\" href=\"#{other}-p{n}\" data-passage=\"{n}\" title=\"shared passage {n}: {w} words\">",
                    n = k + 1,
                    w = p.matched_words
                );
                let mut pos = start;
                for e in &p.edits {
                    let s = match side {
                        Side::A => e.a,
                        Side::B => e.b,
                    };
                    if s.words == 0 {
                        continue;
                    }
                    o.push_str(&escape(t.get(pos..s.byte_start).unwrap_or("")));
                    let _ = write!(
                        o,
                        "<span class=\"edit\">{}</span>",
                        escape(t.get(s.byte_start..s.byte_end).unwrap_or(""))
                    );
                    pos = s.byte_end;
                }
                o.push_str(&escape(t.get(pos..end).unwrap_or("")));
                o.push_str("</a>");
            }
        }
        at = end;
    }
    o.push_str(&escape(t.get(at..).unwrap_or("")));
    o
}

/// One self-contained HTML page (no network) with both texts side by side,
/// shared passages highlighted and each linked to its counterpart.
pub fn html(a_name: &str, a: &str, b_name: &str, b: &str, al: &Alignment) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lookalike: {an} ~ {bn}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }}
header {{ padding: 12px 20px; background: #fff; border-bottom: 1px solid #ddd; }}
header h1 {{ font-size: 17px; margin: 0 0 4px; }}
.legend span {{ margin-right: 14px; }}
main {{ display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 16px 20px; }}
section {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px; }}
section h2 {{ font-size: 14px; margin: 0 0 8px; color: #555; word-break: break-all; }}
.text {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
a.passage {{ background: #d8ecff; color: inherit; text-decoration: none; border-radius: 2px; }}
a.passage:hover, a.passage:target {{ background: #9fd0ff; outline: 2px solid #3b8ed8; }}
.edit {{ background: #ffe08a; }}
.only {{ color: #8a1f1f; background: #fde8e8; }}
@media (max-width: 800px) {{ main {{ grid-template-columns: 1fr; }} }}
</style></head><body>
<header><h1>{np} shared passage{s} &middot; {ca:.1}% of A &middot; {cb:.1}% of B</h1>
<div class="legend"><span><a class="passage">shared passage</a> (click: jump to the other side)</span><span><span class="edit">changed inside a passage</span></span><span><span class="only">in one text only</span></span></div>
</header>
<main>
<section><h2>A &middot; {an} &middot; {aw} words</h2><div class="text" id="text-a">"#,
        an = escape(a_name),
        bn = escape(b_name),
        np = al.passages.len(),
        s = if al.passages.len() == 1 { "" } else { "s" },
        ca = al.a_coverage * 100.0,
        cb = al.b_coverage * 100.0,
        aw = al.a_words,
    );
    o.push_str(&side_html(a, al, Side::A));
    let _ = write!(
        o,
        "</div></section>\n<section><h2>B &middot; {} &middot; {} words</h2><div class=\"text\" id=\"text-b\">",
        escape(b_name),
        al.b_words
    );
    o.push_str(&side_html(b, al, Side::B));
    o.push_str("</div></section>\n</main>\n</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::AlignConfig;

    const A: &str = "Breaking <news>. The harbour bridge will close for six weeks from Monday while engineers replace the cables. Traders are worried.";
    const B: &str = "The harbour bridge would close for six weeks from Monday while engineers replace the cables.\nCoastline Daily";

    #[test]
    fn terminal_plain_markers() {
        let al = AlignConfig::default().align(A, B);
        let t = terminal("a.txt", A, "b.txt", B, &al, Style::Plain);
        assert!(t.contains("[A only, 2 words] Breaking <news"), "{t}");
        assert!(
            t.contains("The harbour bridge [-will-]{+would+} close"),
            "{t}"
        );
        assert!(t.contains("[B only, 2 words] Coastline Daily"), "{t}");
        assert!(!t.contains('\x1b'));
    }

    #[test]
    fn html_escapes_and_links() {
        let al = AlignConfig::default().align(A, B);
        let h = html("a<1>.txt", A, "b.txt", B, &al);
        assert!(h.contains("Breaking &lt;news</span>&gt;"), "{h}");
        assert!(h.contains("a&lt;1&gt;.txt"));
        assert!(h.contains(r##"id="a-p1" href="#b-p1""##));
        assert!(h.contains(r##"id="b-p1" href="#a-p1""##));
        assert!(h.contains(r#"<span class="edit">will</span>"#));
        assert!(!h.contains("http"), "the page must not load anything");
    }
}
