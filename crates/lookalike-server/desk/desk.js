// The desk page's behaviour. Plain browser JavaScript, no build step, no
// library: it calls the service's own /v1 API and nothing else.
//
// Every text that came from a document or the service is written with
// textContent (or as an attribute value), never parsed as HTML; the aligned
// view is HTML the service escaped, shown in a frame sandboxed without
// scripts.
'use strict';

(() => {
  const body = document.body;
  const limits = {
    body: Number(body.dataset.maxBody) || 64 << 20,
    doc: Number(body.dataset.maxDocument) || 8 << 20,
    batch: Number(body.dataset.maxBatch) || 10000,
  };
  const tokenRequired = body.dataset.tokenRequired === 'true';
  const TOKEN_KEY = 'lookalike-token';
  /** Largest file the page reads into memory. */
  const MAX_FILE = 1 << 30;
  const $ = (id) => document.getElementById(id);
  const utf8 = new TextEncoder();
  const bytes = (s) => utf8.encode(s).length;

  // ---- small helpers ------------------------------------------------------

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function when(ts) {
    if (ts === null || ts === undefined) return '';
    const d = new Date(ts * 1000);
    return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }

  const percent = (x) => (x * 100).toFixed(1) + '%';

  function size(n) {
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MB';
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + ' KB';
    return n + ' bytes';
  }

  /** A failure with what a person needs to read. */
  class Failure extends Error {
    constructor(message, status, code, field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
    }
  }

  /** What the service said, in words: its JSON errors name the field. */
  function explain(status, payload) {
    const e = payload && payload.error;
    if (!e) return new Failure(`The service answered ${status} without an explanation.`, status, 'unknown');
    const where = e.field ? ` (in ${e.field})` : '';
    const lead = {
      payload_too_large: 'Too big for this service: ',
      unauthorized: 'The token was refused: ',
      not_found: 'Not found: ',
      request_timeout: 'The service took too long: ',
      cross_origin: 'Refused: ',
    }[e.code] || '';
    return new Failure(lead + e.message + where, status, e.code, e.field);
  }

  /**
   * Call the API. Uses XMLHttpRequest rather than fetch because it reports
   * upload progress, which a big batch needs.
   */
  function api(method, path, payload, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, path);
      xhr.responseType = 'text';
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) xhr.setRequestHeader('Authorization', 'Bearer ' + token);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total);
      xhr.onload = () => {
        let parsed = null;
        try { parsed = JSON.parse(xhr.responseText); } catch (_) { parsed = null; }
        if (xhr.status >= 200 && xhr.status < 300 && parsed !== null) resolve(parsed);
        else {
          const failure = explain(xhr.status, parsed);
          if (xhr.status === 401 && tokenRequired) askForToken(failure.message);
          reject(failure);
        }
      };
      xhr.onerror = () => reject(new Failure(payload === undefined
        ? 'The service cannot be reached: is `lookalike serve` still running?'
        : 'The connection closed while sending: the service may have refused a request over its size or time limits (--max-body, --timeout), or stopped.', 0, 'network'));
      if (payload === undefined) xhr.send();
      else {
        xhr.setRequestHeader('Content-Type', 'application/json');
        xhr.send(JSON.stringify(payload));
      }
    });
  }

  function say(node, message, problem) {
    node.textContent = message;
    node.classList.toggle('problem', Boolean(problem));
  }

  // ---- the token ------------------------------------------------------------

  function askForToken(problem) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('desk').hidden = true;
    $('forget-token').hidden = true;
    $('token-panel').hidden = false;
    $('token-error').textContent = problem || '';
    $('token-input').value = '';
    $('token-input').focus();
  }

  $('token-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = $('token-input').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token-error').textContent = '';
    try {
      await api('GET', '/v1/stats');
    } catch (e) {
      if (e.status !== 401) $('token-error').textContent = e.message;
      return;
    }
    start();
  });

  $('forget-token').addEventListener('click', () => askForToken(''));

  // ---- checking -------------------------------------------------------------

  /** Documents read from dropped or chosen files; empty: use the text box. */
  let fileDocs = [];
  /** Whether the index stores texts (a stored side of "why" needs it). */
  let storeText = true;
  /** A check is being sent (a second submit waits for it). */
  let inFlight = false;

  function htmlToText(html) {
    // DOMParser makes an inert document: its scripts never run.
    const doc = new DOMParser().parseFromString(html, 'text/html');
    doc.querySelectorAll('script, style, noscript, template, head').forEach((n) => n.remove());
    const blocks = doc.body ? doc.body.querySelectorAll('p, div, li, h1, h2, h3, h4, h5, h6, br, tr, section, article') : [];
    blocks.forEach((n) => n.append('\n'));
    const text = doc.body ? doc.body.textContent : '';
    return text.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean).join('\n\n');
  }

  function readJsonLines(name, text) {
    const docs = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      let v;
      try { v = JSON.parse(line); } catch (e) {
        throw new Failure(`${name}, line ${i + 1}: not valid JSON (${e.message}); fix the line or remove it`);
      }
      if (typeof v !== 'object' || v === null || typeof v.text !== 'string') {
        throw new Failure(`${name}, line ${i + 1}: no "text" string; each line needs {"id", "text"}`);
      }
      const doc = { id: v.id === undefined || v.id === null ? `${name}:${i + 1}` : String(v.id), text: v.text };
      if (typeof v.source === 'string') doc.source = v.source;
      if (typeof v.timestamp === 'string' || typeof v.timestamp === 'number') doc.timestamp = v.timestamp;
      docs.push(doc);
    });
    return docs;
  }

  async function readFiles(files) {
    const docs = [];
    for (const f of files) {
      const lower = f.name.toLowerCase();
      const lines = lower.endsWith('.jsonl') || lower.endsWith('.ndjson');
      // JSON Lines are sent in batches that fit the limits; any other file
      // is one document, which must fit one request.
      if (!lines && f.size > limits.body) {
        throw new Failure(`${f.name} is ${size(f.size)}; this service takes at most ${size(limits.body)} a request (--max-body).`);
      }
      if (f.size > MAX_FILE) {
        throw new Failure(`${f.name} is ${size(f.size)}; the page reads files of at most ${size(MAX_FILE)}. Split it, or send it with \`lookalike index add\`.`);
      }
      const text = await f.text();
      if (lines) docs.push(...readJsonLines(f.name, text));
      else if (lower.endsWith('.html') || lower.endsWith('.htm') || f.type === 'text/html') docs.push({ id: f.name, text: htmlToText(text) });
      else docs.push({ id: f.name, text });
    }
    return docs;
  }

  async function takeFiles(files) {
    const status = $('check-status');
    if (!files || files.length === 0) return;
    try {
      fileDocs = await readFiles(Array.from(files));
      $('file-summary').textContent = `${fileDocs.length} document${fileDocs.length === 1 ? '' : 's'} from ${files.length} file${files.length === 1 ? '' : 's'}: Check sends them instead of the text box.`;
      say(status, '', false);
    } catch (e) {
      fileDocs = [];
      $('file-summary').textContent = '';
      say(status, e.message, true);
    }
  }

  $('check-file').addEventListener('change', async (ev) => {
    await takeFiles(ev.target.files);
    // Choosing the same file again must be noticed.
    ev.target.value = '';
  });
  // Typing a text means checking the text, not the files chosen before.
  $('check-text').addEventListener('input', () => {
    if (fileDocs.length > 0) {
      fileDocs = [];
      $('file-summary').textContent = 'The files chosen before are set aside: Check sends the text box.';
    }
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    takeFiles(ev.dataTransfer.files);
  });

  $('check-clear').addEventListener('click', () => {
    fileDocs = [];
    $('check-file').value = '';
    $('file-summary').textContent = '';
    $('check-text').value = '';
    $('check-id').value = '';
    say($('check-status'), '', false);
    $('check-text').focus();
  });

  // Ctrl+Enter (or Cmd+Enter) in the text box checks it.
  $('check-text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      $('check-form').requestSubmit();
    }
  });

  /** The documents to send, or a Failure saying why not. */
  function documentsToCheck() {
    if (fileDocs.length > 0) return fileDocs.map((d) => ({ ...d }));
    const text = $('check-text').value;
    if (!text.trim()) throw new Failure('Paste a text or choose a file first.');
    const id = $('check-id').value.trim() || `desk-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
    const doc = { id, text };
    const source = $('check-source').value.trim();
    if (source) doc.source = source;
    return [doc];
  }

  /** Batches within the service's limits on documents and bytes. */
  function batches(docs) {
    const out = [];
    let cur = [];
    let curBytes = 64;
    const room = Math.floor(limits.body * 0.9);
    for (const d of docs) {
      const n = bytes(JSON.stringify(d)) + 1;
      if (cur.length > 0 && (cur.length >= limits.batch || curBytes + n > room)) {
        out.push(cur);
        cur = [];
        curBytes = 64;
      }
      cur.push(d);
      curBytes += n;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  $('check-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (inFlight) return;
    const status = $('check-status');
    const progress = $('check-progress');
    const button = $('check-button');
    let docs;
    try {
      docs = documentsToCheck();
      for (const d of docs) {
        const n = bytes(d.text);
        if (n > limits.doc) {
          throw new Failure(`${d.id} is ${size(n)}; this service takes texts of at most ${size(limits.doc)} (--max-document). Nothing was sent.`);
        }
      }
    } catch (e) {
      say(status, e.message, true);
      return;
    }
    for (const d of docs) {
      // One document alone must fit one request.
      const n = bytes(JSON.stringify(d)) + 64;
      if (n > limits.body) {
        say(status, `${d.id} takes ${size(n)} as JSON; this service takes requests of at most ${size(limits.body)} (--max-body). Nothing was sent.`, true);
        return;
      }
    }
    const store = $('check-store').checked;
    const parts = batches(docs);
    const total = docs.reduce((s, d) => s + bytes(d.text), 0) || 1;
    let sent = 0;
    button.disabled = true;
    inFlight = true;
    progress.hidden = false;
    progress.value = 0;
    say(status, `Checking ${docs.length} document${docs.length === 1 ? '' : 's'}…`, false);
    const results = [];
    const texts = [];
    try {
      for (const [i, part] of parts.entries()) {
        const partBytes = part.reduce((s, d) => s + bytes(d.text), 0);
        let answer;
        try {
          answer = await api('POST', store ? '/v1/documents' : '/v1/query', { documents: part }, (loaded, all) => {
            progress.value = (sent + (all ? partBytes * loaded / all : 0)) / total;
          });
        } catch (e) {
          // The service names fields within this batch: say which document.
          const at = /^documents\[(\d+)\]/.exec(e.field || '');
          const which = at && part[Number(at[1])] ? ` Document ${part[Number(at[1])].id}.` : '';
          const before = results.length && store ? ` The ${results.length} checked before it were stored where new.` : '';
          throw new Failure(e.message + which + before, e.status, e.code);
        }
        sent += partBytes;
        progress.value = sent / total;
        if (parts.length > 1) say(status, `Checked batch ${i + 1} of ${parts.length}…`, false);
        texts.push(...part.map((d) => d.text));
        results.push(...answer.results);
      }
      const found = results.filter((r) => r.matches.length > 0).length;
      say(status, `${results.length} checked, ${found} with matches${store ? '; new ones stored' : ''}.`, false);
    } catch (e) {
      say(status, e.message + (results.length ? ` (${results.length} checked before it failed)` : ''), true);
    } finally {
      button.disabled = false;
      inFlight = false;
      progress.hidden = true;
    }
    if (results.length) showResults(results, texts);
    if (store) {
      // The next text stored must not reuse this one's id.
      if (results.some((r) => r.stored)) $('check-id').value = '';
      loadRecent(false);
      loadStats();
    }
  });

  function showResults(results, texts) {
    const list = $('results-list');
    list.replaceChildren();
    $('results-empty').hidden = true;
    for (const [k, r] of results.entries()) {
      const stored = r.stored ? el('span', { class: 'badge stored', text: 'stored' })
        : el('span', { class: 'badge', text: r.note ? `not stored: ${r.note}` : 'not stored' });
      const card = el('article', { class: 'result', 'data-id': r.id }, el('h4', {}, r.id, ' ', stored));
      if (r.matches.length === 0) {
        card.append(el('p', { class: 'hint', text: 'No stored document matches it.' }));
      } else {
        const ol = el('ol', { class: 'matches' });
        for (const m of r.matches) {
          const meta = [m.source, when(m.timestamp)].filter(Boolean).join(' · ');
          const why = storeText
            ? el('button', { type: 'button', class: 'why', text: 'Why?', 'aria-label': `Why ${r.id} matches ${m.id}`, onclick: (ev) => showWhy(texts[k], r.id, m.id, ev.currentTarget) })
            : el('span', { class: 'hint', text: '—', title: 'The index keeps no texts (created without --store-text): nothing to align.' });
          ol.append(el('li', { 'data-match': m.id },
            why,
            el('span', { class: 'sim', text: percent(m.similarity), title: 'similarity of the two texts (Jaccard of their shingle sets)' }),
            el('span', { class: 'who' }, m.id, el('span', { class: 'relation', text: m.relation })),
            meta ? el('span', { class: 'meta', text: meta }) : null));
        }
        card.append(ol);
      }
      list.append(card);
    }
    $('results-heading').focus();
  }

  // ---- why ------------------------------------------------------------------

  /** Answers to an older "why" that arrive after a newer one are dropped. */
  let whyAsked = 0;
  let whyOpener = null;

  async function showWhy(text, checkedId, storedId, opener) {
    const asked = ++whyAsked;
    whyOpener = opener || null;
    const panel = $('why');
    const figures = $('why-figures');
    panel.hidden = false;
    figures.replaceChildren(el('dt', { text: 'comparing' }), el('dd', { text: `${checkedId} with stored ${storedId}…` }));
    showView('');
    try {
      const answer = await api('POST', '/v1/compare', {
        a: { text, name: checkedId },
        b: { id: storedId },
        view: true,
      });
      if (asked !== whyAsked) return;
      const f = answer.figures;
      const s = f.story || {};
      const rows = [
        ['verdict', f.verdict],
        ['same story?', s.story === 'same' ? 'same story' : s.story === 'template' ? 'same template, other facts' : 'different'],
        ['similarity', `${percent(f.jaccard)} (threshold ${percent(f.threshold)})`],
        ['without template text', s.statistics ? percent(s.content_jaccard) : `${percent(s.content_jaccard)} (one pair: no collection to learn a template from)`],
        [`${checkedId} inside ${storedId}`, percent(f.containment_a_in_b)],
        [`${storedId} inside ${checkedId}`, percent(f.containment_b_in_a)],
        ['shared passages', `${f.shared_passages} (longest ${f.longest_passage_words} words)`],
        ['figures that differ', s.differing_facts ? `${s.differing_facts[0]} here, ${s.differing_facts[1]} there` : ''],
      ];
      figures.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
      showView(answer.view || '');
    } catch (e) {
      if (asked !== whyAsked) return;
      figures.replaceChildren(el('dt', { text: 'problem' }), el('dd', { class: 'problem', text: e.message }));
    }
    panel.scrollIntoView({ block: 'start' });
    $('why-heading').focus({ preventScroll: true });
  }

  /**
   * Show an aligned view in a fresh frame, sandboxed without scripts. A new
   * frame each time gives it exactly one navigation: changing the srcdoc
   * of a frame still loading the previous one could leave it blank.
   */
  function showView(html) {
    const frame = el('iframe', { id: 'why-view', sandbox: '', title: 'The two texts side by side, shared passages highlighted' });
    frame.srcdoc = html;
    $('why-view').replaceWith(frame);
  }

  function closeWhy() {
    whyAsked++;
    $('why').hidden = true;
    showView('');
    // Back to where the reader was.
    if (whyOpener && whyOpener.isConnected) whyOpener.focus();
  }
  $('why-close').addEventListener('click', closeWhy);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !$('why').hidden) closeWhy();
  });

  // ---- browsing ---------------------------------------------------------------

  let nextBefore = null;

  function recentRow(d) {
    const actions = el('td', { class: 'actions' });
    const normal = () => actions.replaceChildren(
      el('button', { type: 'button', text: 'Show', 'aria-label': `Show ${d.id}`, onclick: () => showDocument(d.id) }), ' ',
      el('button', { type: 'button', text: 'Remove', 'aria-label': `Remove ${d.id}`, onclick: confirm }));
    // Removal asks first, in the row itself (no browser dialog).
    function confirm() {
      const yes = el('button', { type: 'button', class: 'danger', text: 'Yes, remove', onclick: remove });
      actions.replaceChildren(el('span', { text: `Remove ${d.id}? ` }), yes, ' ',
        el('button', { type: 'button', text: 'Cancel', onclick: () => { normal(); actions.querySelector('button').focus(); } }));
      yes.focus();
    }
    async function remove() {
      try {
        await api('DELETE', `/v1/documents/${encodeURIComponent(d.id)}`);
        // Keep the keyboard's place: the next row, or the list's button.
        const next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        (next ? next.querySelector('button') : $('recent-refresh')).focus();
        say($('browse-status'), `Removed ${d.id}.`, false);
        loadStats();
      } catch (e) {
        say($('browse-status'), e.message, true);
        normal();
      }
    }
    const row = el('tr', { 'data-id': d.id },
      el('td', { class: 'id', text: d.id, title: d.preview ? `${d.id}: ${d.preview}` : d.id }),
      el('td', { text: d.source || '' }),
      el('td', { class: 'time', text: when(d.timestamp) }),
      actions);
    normal();
    return row;
  }

  let browsing = false;

  async function loadRecent(more) {
    const tbody = $('recent-body');
    if (more && (nextBefore === null || nextBefore === undefined || browsing)) return;
    browsing = true;
    $('recent-more').disabled = true;
    try {
      const q = more && nextBefore !== null ? `?limit=20&before=${nextBefore}` : '?limit=20';
      const page = await api('GET', '/v1/documents' + q);
      if (!more) tbody.replaceChildren();
      page.documents.forEach((d) => tbody.append(recentRow(d)));
      nextBefore = page.next_before;
      $('recent-more').hidden = nextBefore === null || nextBefore === undefined;
      if (!more) say($('browse-status'), page.documents.length ? '' : 'The index is empty.', false);
    } catch (e) {
      say($('browse-status'), e.message, true);
    } finally {
      browsing = false;
      $('recent-more').disabled = false;
    }
  }

  async function showDocument(id) {
    const view = $('doc-view');
    try {
      const d = await api('GET', `/v1/documents/${encodeURIComponent(id)}`);
      $('doc-heading').textContent = d.id;
      $('doc-meta').textContent = [d.source, when(d.timestamp)].filter(Boolean).join(' · ');
      $('doc-text').textContent = d.text === null || d.text === undefined
        ? '(stored without its text: the index was created without --store-text)' : d.text;
      view.hidden = false;
      $('doc-heading').focus();
      say($('browse-status'), '', false);
    } catch (e) {
      say($('browse-status'), e.message, true);
    }
  }

  $('lookup-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('lookup-id').value.trim();
    if (id) showDocument(id);
  });
  $('doc-close').addEventListener('click', () => { $('doc-view').hidden = true; });
  $('recent-refresh').addEventListener('click', () => loadRecent(false));
  $('recent-more').addEventListener('click', () => loadRecent(true));

  async function loadStats() {
    const list = $('stats-list');
    try {
      const s = await api('GET', '/v1/stats');
      storeText = Boolean(s.spec.store_text);
      const fp = s.spec.fingerprint || {};
      const sh = fp.shingle || {};
      const rows = [
        ['documents', s.documents.toLocaleString('en')],
        ['with a time', s.dated.toLocaleString('en')],
        ['oldest', when(s.oldest) || '—'],
        ['newest', when(s.newest) || '—'],
        ['threshold', percent(s.spec.threshold)],
        ['shingles', `${String(sh.unit || '').replace(/s$/, '')} ${sh.n || ''}-grams`.trim()],
        ['buckets', `${s.spec.lsh.bands} bands × ${s.spec.lsh.rows} rows`],
        ['texts stored', s.spec.store_text ? 'yes' : 'no (no aligned view of stored documents)'],
        ['file', `${size(s.file_bytes)}, format ${s.format}`],
      ];
      list.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
    } catch (e) {
      list.replaceChildren(el('dt', { text: 'problem' }), el('dd', { class: 'problem', text: e.message }));
    }
  }

  // ---- start ----------------------------------------------------------------

  function start() {
    $('token-panel').hidden = true;
    $('desk').hidden = false;
    $('forget-token').hidden = !tokenRequired;
    body.dataset.ready = 'true';
    loadStats();
    loadRecent(false);
    $('check-text').focus();
  }

  if (tokenRequired && !sessionStorage.getItem(TOKEN_KEY)) askForToken('');
  else start();
})();
