//! The HTML report of a `dedup` run: one self-contained page (no network)
//! with the summary, histograms of group sizes and similarities, and every
//! group, largest first, with the kept document beside each member and their
//! shared passages highlighted.
//!
//! The page stays usable with 100,000 groups: groups are data (JSON inside
//! the page) rendered a page of 20 at a time by a small script, with paging
//! and a search by id; texts are embedded only up to a byte budget, so the
//! page stays loadable, and groups past it list their members and figures.

use std::collections::HashMap;
use std::fmt::Write as _;

use rayon::prelude::*;
use serde::Serialize;

use crate::align::AlignConfig;
use crate::dedup::{DedupOutcome, Relation};
use crate::render::escape;

/// Figures for the report's header, as the caller measured them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// How the run was started (the command line).
    pub command: String,
    /// Bytes of text read.
    pub bytes: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Settings worth showing, as (name, value).
    pub settings: Vec<(String, String)>,
}

#[derive(Serialize)]
struct GroupData {
    kept: usize,
    /// (document, similarity to the kept one, relation: 0 near, 1 exact,
    /// 2 contains, 3 contained-in)
    members: Vec<(usize, f64, u8)>,
    /// Per member (same order; none for the kept one): passages as
    /// [kept start, kept end, member start, member end] character offsets.
    passages: Vec<Vec<[usize; 4]>>,
}

#[derive(Serialize)]
struct PageData<'a> {
    ids: Vec<&'a str>,
    texts: HashMap<usize, &'a str>,
    groups: Vec<GroupData>,
}

/// Histogram as an inline SVG bar chart: `bars` are (label, count).
fn bar_chart(title: &str, bars: &[(String, usize)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let (w, h, pad) = (28usize, 140.0f64, 24usize);
    let width = pad * 2 + bars.len() * w;
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg role=\"img\" width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\">",
        escape(title),
        h as usize + 60,
        h as usize + 60
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let bh = (*n as f64 / max * h).round();
        let x = pad + i * w;
        let _ = write!(
            s,
            "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {}</title></rect>",
            x + 3,
            20.0 + h - bh,
            w - 6,
            bh,
            escape(label),
            n
        );
        if *n > 0 {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" class=\"count\">{}</text>",
                x + w / 2,
                16.0 + h - bh,
                n
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" class=\"label\" transform=\"rotate(45 {} {})\">{}</text>",
            x + w / 2,
            h + 34.0,
            x + w / 2,
            h + 34.0,
            escape(label)
        );
    }
    s.push_str("</svg></figure>");
    s
}

/// Build the report page. `texts` holds the original text of grouped
/// documents by input position, as far as the caller's budget allowed.
pub fn html(
    outcome: &DedupOutcome,
    texts: &HashMap<usize, String>,
    summary: &RunSummary,
) -> String {
    let align = AlignConfig::default();
    let mut order: Vec<usize> = (0..outcome.groups.len()).collect();
    order.sort_by_key(|&g| (std::cmp::Reverse(outcome.groups[g].members.len()), g));
    let groups: Vec<GroupData> = order
        .par_iter()
        .map(|&g| {
            let group = &outcome.groups[g];
            let members = group
                .members
                .iter()
                .map(|m| {
                    (
                        m.index,
                        (m.similarity * 10_000.0).round() / 10_000.0,
                        match m.relation {
                            Relation::Near => 0,
                            Relation::Exact => 1,
                            Relation::Contains => 2,
                            Relation::ContainedIn => 3,
                        },
                    )
                })
                .collect();
            let passages = group
                .members
                .iter()
                .map(|m| match (texts.get(&group.kept), texts.get(&m.index)) {
                    (Some(a), Some(b)) if m.index != group.kept => align
                        .align(a, b)
                        .passages
                        .iter()
                        .map(|p| [p.a.start, p.a.end, p.b.start, p.b.end])
                        .collect(),
                    _ => Vec::new(),
                })
                .collect();
            GroupData {
                kept: group.kept,
                members,
                passages,
            }
        })
        .collect();

    // Histograms.
    let size_bins: [(usize, usize, &str); 7] = [
        (2, 2, "2"),
        (3, 3, "3"),
        (4, 4, "4"),
        (5, 9, "5-9"),
        (10, 19, "10-19"),
        (20, 99, "20-99"),
        (100, usize::MAX, "100+"),
    ];
    let sizes: Vec<(String, usize)> = size_bins
        .iter()
        .map(|&(lo, hi, label)| {
            let n = outcome
                .groups
                .iter()
                .filter(|g| (lo..=hi).contains(&g.members.len()))
                .count();
            (label.to_string(), n)
        })
        .collect();
    let mut sim_counts = [0usize; 20];
    for g in &outcome.groups {
        for m in g.members.iter().filter(|m| m.index != g.kept) {
            sim_counts[((m.similarity * 20.0).floor() as usize).min(19)] += 1;
        }
    }
    let sims: Vec<(String, usize)> = sim_counts
        .iter()
        .enumerate()
        .map(|(i, &n)| (format!("{:.2}", i as f64 / 20.0), n))
        .collect();

    let data = PageData {
        ids: outcome.ids.iter().collect(),
        texts: texts.iter().map(|(k, v)| (*k, v.as_str())).collect(),
        groups,
    };
    // JSON inside <script>: "</" must not appear, or the script would end.
    let json = serde_json::to_string(&data)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/");
    let s = &outcome.stats;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lookalike dedup report</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f6f6f6; }}
header, .panel {{ background: #fff; border-bottom: 1px solid #ddd; padding: 12px 20px; }}
h1 {{ font-size: 18px; margin: 0 0 6px; }} h2 {{ font-size: 15px; margin: 0 0 8px; }}
table.figures td {{ padding: 1px 14px 1px 0; }} table.figures td:nth-child(2) {{ text-align: right; font-variant-numeric: tabular-nums; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 24px; }}
figure {{ margin: 0; }} figcaption {{ font-weight: 600; margin-bottom: 4px; }}
rect.bar {{ fill: #3b8ed8; }} text.count {{ font-size: 10px; text-anchor: middle; }} text.label {{ font-size: 10px; }}
#controls {{ display: flex; gap: 10px; align-items: center; padding: 10px 20px; position: sticky; top: 0; background: #f6f6f6; border-bottom: 1px solid #ddd; }}
.group {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 12px 20px; padding: 10px 14px; }}
.group table {{ border-collapse: collapse; margin-bottom: 8px; }} .group td, .group th {{ padding: 2px 10px 2px 0; text-align: left; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin: 8px 0; }}
.pair > div {{ border: 1px solid #e2e2e2; border-radius: 4px; padding: 8px; max-height: 360px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }}
.pair h3 {{ font-size: 12px; margin: 0 0 4px; color: #555; white-space: normal; }}
mark.passage {{ background: #d8ecff; }} .note {{ color: #666; }}
</style></head><body>
<header><h1>lookalike dedup report</h1><div class="note">{command}</div></header>
<div class="panel"><table class="figures">
<tr><td>documents</td><td>{docs}</td></tr><tr><td>text</td><td>{bytes} bytes</td></tr>
<tr><td>groups</td><td>{groups}</td></tr><tr><td>exact duplicates removed</td><td>{exact}</td></tr>
<tr><td>near duplicates removed</td><td>{near}</td></tr><tr><td>kept</td><td>{kept}</td></tr>
<tr><td>time</td><td>{secs:.2} s</td></tr>"#,
        command = escape(&summary.command),
        docs = s.documents,
        bytes = summary.bytes,
        groups = s.groups,
        exact = s.exact_duplicates,
        near = s.near_duplicates,
        kept = s.kept,
        secs = summary.seconds,
    );
    for (k, v) in &summary.settings {
        let _ = write!(o, "<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(v));
    }
    o.push_str("</table></div>\n<div class=\"panel charts\">");
    o.push_str(&bar_chart("Group sizes (documents per group)", &sizes));
    o.push_str(&bar_chart(
        "Similarity of removed documents to the kept one (Jaccard)",
        &sims,
    ));
    o.push_str("</div>\n");
    o.push_str(
        r#"<div id="controls"><button id="prev">&larr; previous</button><span id="where"></span><button id="next">next &rarr;</button>
<input id="search" type="search" placeholder="find a document id" size="30"><span class="note">largest groups first; blue: passages shared with the kept document</span></div>
<div id="groups"></div>
"#,
    );
    let _ = writeln!(
        o,
        "<script type=\"application/json\" id=\"data\">{json}</script>"
    );
    o.push_str(SCRIPT);
    o.push_str("</body></html>\n");
    o
}

/// Paging, search and the side-by-side views, drawn from the JSON data.
const SCRIPT: &str = r#"<script>
(function () {
  const data = JSON.parse(document.getElementById('data').textContent);
  const PER_PAGE = 20, MAX_PAIRS = 5;
  let shown = data.groups.map((g, i) => i), page = 0;
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  // Character offsets count Unicode scalar values, as the engine does.
  function marked(text, spans) {
    const chars = Array.from(text), box = el('div');
    let at = 0;
    for (const [s, e] of spans.slice().sort((x, y) => x[0] - y[0])) {
      if (s < at) continue;
      box.append(chars.slice(at, s).join(''));
      box.append(el('mark', {class: 'passage'}, chars.slice(s, e).join('')));
      at = e;
    }
    box.append(chars.slice(at).join(''));
    return box;
  }
  const showAll = new Set();
  function groupView(gi) {
    const g = data.groups[gi], box = el('section', {class: 'group', 'data-group': gi});
    box.append(el('h2', {}, 'Group ' + (gi + 1) + ': ' + g.members.length + ' documents, kept ' + data.ids[g.kept]));
    const t = el('table'), head = el('tr');
    ['document', 'similarity to kept', 'relation'].forEach(h => head.append(el('th', {}, h)));
    t.append(head);
    g.members.forEach(([d, sim, rel]) => {
      const r = el('tr');
      r.append(el('td', {}, data.ids[d] + (d === g.kept ? '  (kept)' : '')), el('td', {}, sim.toFixed(4)), el('td', {}, ['near', 'exact', 'contains', 'contained-in'][rel]));
      t.append(r);
    });
    box.append(t);
    let pairs = 0;
    g.members.forEach(([d], k) => {
      if (d === g.kept || (pairs >= MAX_PAIRS && !showAll.has(gi))) return;
      const a = data.texts[g.kept], b = data.texts[d];
      if (a === undefined || b === undefined) return;
      pairs++;
      const p = g.passages[k], pair = el('div', {class: 'pair'});
      const left = marked(a, p.map(x => [x[0], x[1]])), right = marked(b, p.map(x => [x[2], x[3]]));
      left.prepend(el('h3', {}, 'kept: ' + data.ids[g.kept]));
      right.prepend(el('h3', {}, data.ids[d] + ' (' + p.length + ' shared passages)'));
      pair.append(left, right);
      box.append(pair);
    });
    const others = g.members.length - 1 - pairs;
    if (others > 0 && !showAll.has(gi) && g.members.some(([d]) => d !== g.kept && data.texts[d] === undefined) === false) {
      const more = el('button', {}, 'show all ' + (g.members.length - 1) + ' members side by side');
      more.onclick = () => { showAll.add(gi); box.replaceWith(groupView(gi)); };
      box.append(more);
    } else if (others > 0) {
      box.append(el('p', {class: 'note'}, others + ' member(s) not shown side by side: their texts are past the report budget (--report-text-budget); use `lookalike align`.'));
    }
    return box;
  }
  function draw() {
    const pages = Math.max(1, Math.ceil(shown.length / PER_PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    const box = document.getElementById('groups');
    box.replaceChildren(...shown.slice(page * PER_PAGE, (page + 1) * PER_PAGE).map(groupView));
    document.getElementById('where').textContent = 'page ' + (page + 1) + ' of ' + pages + ' (' + shown.length + ' groups)';
  }
  document.getElementById('prev').onclick = () => { page--; draw(); };
  document.getElementById('next').onclick = () => { page++; draw(); };
  document.getElementById('search').oninput = (ev) => {
    const q = ev.target.value.trim();
    shown = data.groups.map((g, i) => i).filter(i => !q || data.groups[i].members.some(([d]) => data.ids[d].includes(q)));
    page = 0;
    draw();
  };
  draw();
})();
</script>
"#;
