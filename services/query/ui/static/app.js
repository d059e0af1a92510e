// scrape-pipeline dashboard: live updates on top of pages that work without
// this script. It reads the JSON API of this same origin and writes text
// only (textContent, attributes), never HTML.
'use strict';
(function () {
  const POLL_RUN_MS = 1000;
  const POLL_STATUS_MS = 2000;

  const fmtInt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '—');
  // The pages' own time form: 2026-03-01 12:00:05 UTC.
  const fmtTime = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+/, '').replace('Z', ' UTC') : '—');
  const fmtDuration = (ms) => {
    if (!ms || ms <= 0) return '—';
    if (ms < 1000) return ms + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    return Math.floor(ms / 60000) + ' min ' + (Math.floor(ms / 1000) % 60) + ' s';
  };
  const fmtAge = (ms) => (ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s');

  async function getJSON(path) {
    const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    return { status: res.status, ok: res.ok, body: body, headers: res.headers };
  }

  const field = (root, name) => root.querySelector('[data-f="' + name + '"]');
  function setText(root, name, text) {
    const el = field(root, name);
    if (el && el.textContent !== text) el.textContent = text;
  }

  // --- runs: rows and panels marked data-run follow their run while it runs.

  const watched = new Set();
  // refreshStatus re-reads devstack's stream panel, if the page has one:
  // while a run is in flight its records move through the shards.
  let refreshStatus = () => {};

  function renderRun(el, r) {
    el.dataset.status = r.status;
    setText(el, 'status', r.status);
    if (typeof r.trigger === 'string' && r.trigger) setText(el, 'trigger', r.trigger);
    setText(el, 'published', fmtInt(r.published));
    setText(el, 'processed', fmtInt(r.processed));
    setText(el, 'failed', fmtInt(r.failed));
    setText(el, 'pages', fmtInt(r.pages));
    setText(el, 'publishFailed', fmtInt(r.publishFailed));
    setText(el, 'skipped', fmtInt(r.skipped));
    setText(el, 'duration', fmtDuration(r.durationMs));
    for (const name of ['startedAt', 'finishedAt']) {
      const t = field(el, name);
      if (t) {
        if (r[name]) t.setAttribute('datetime', r[name].replace(/\.\d+/, ''));
        if (t.textContent !== fmtTime(r[name])) t.textContent = fmtTime(r[name]);
      }
    }
    const done = (r.processed || 0) + (r.failed || 0);
    const bar = field(el, 'progress');
    if (bar) {
      bar.max = Math.max(1, r.published || 0);
      bar.value = done;
    }
    setText(el, 'percent', r.published ? Math.min(100, Math.floor((100 * done) / r.published)) + ' %' : '—');
    if (r.status !== 'running') setText(el, 'live', 'Run ' + r.status + '.');
  }

  // refreshTotals recounts the overview's totals from its runs table: the
  // runs shown, those in flight, and the films of the newest completed run.
  function refreshTotals() {
    const totals = document.getElementById('totals');
    if (!totals) return;
    const rows = [...document.querySelectorAll('#runs tr[data-run]')];
    const runs = field(totals, 'runs');
    if (runs) runs.textContent = (runs.hasAttribute('data-more') ? '≥ ' : '') + rows.length;
    setText(totals, 'inflight', rows.filter((r) => r.dataset.status === 'running').length + ' in flight');
    const done = rows.find((r) => r.dataset.status === 'completed');
    if (done) {
      setText(totals, 'films', field(done, 'published').textContent);
      setText(totals, 'filmsNote', 'in the latest completed run');
    }
  }

  function watch(el) {
    const id = el.dataset.run;
    if (!id || watched.has(el)) return;
    watched.add(el);
    let missing = 0;
    const tick = async () => {
      let next = POLL_RUN_MS;
      try {
        const res = await getJSON('/runs/' + encodeURIComponent(id));
        if (res.ok && res.body) {
          renderRun(el, res.body);
          refreshTotals();
          refreshStatus();
          if (res.body.status !== 'running') {
            watched.delete(el);
            return;
          }
        } else if (res.status === 404 && ++missing < 30) {
          // Not there yet: ask again for a while, then give up.
        } else if (res.status === 503) {
          next = 1000 * (parseInt(res.headers.get('Retry-After'), 10) || 2);
        } else {
          watched.delete(el);
          return;
        }
      } catch (e) {
        next = 5 * POLL_RUN_MS; // offline for a moment: try again later
      }
      setTimeout(tick, next);
    };
    tick();
  }

  document.querySelectorAll('[data-run][data-status="running"]').forEach(watch);

  // --- the scrape button (devstack, or a stack whose POST /scrape is open).

  const form = document.getElementById('scrape');
  const msg = document.getElementById('scrape-msg');
  if (form && msg) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const button = form.querySelector('button');
      button.disabled = true;
      msg.classList.remove('bad');
      msg.textContent = 'Scraping…';
      try {
        const res = await fetch(form.action, { method: 'POST', headers: { Accept: 'application/json' } });
        let body = null;
        try { body = await res.json(); } catch (e) { body = null; }
        if (res.status === 202 && body && typeof body.runId === 'string') {
          msg.textContent = body.unchanged
            ? 'Run ' + body.runId + ': the page is unchanged since the last run; nothing published.'
            : 'Run ' + body.runId + ' published ' + fmtInt(body.published) + ' events from ' + fmtInt(body.pages) + ' pages; the processor is on it.';
          addRun(body);
        } else {
          const why = body && body.error && typeof body.error.message === 'string' ? body.error.message : 'HTTP ' + res.status;
          const retry = res.headers.get('Retry-After');
          msg.textContent = 'The scrape did not start: ' + why + (retry ? ' (try again in ' + retry + ' s)' : '') + '.';
          msg.classList.add('bad');
        }
      } catch (e) {
        msg.textContent = 'The scrape did not start: the API did not answer.';
        msg.classList.add('bad');
      } finally {
        button.disabled = false;
      }
    });
  }

  // runRow returns the runs table's row of run id, making it at the top
  // from the page's inert row template when the table has none yet.
  function runRow(id) {
    const tbody = document.querySelector('#runs tbody');
    const tpl = document.getElementById('run-row');
    if (!tbody || !tpl) return null;
    let row = tbody.querySelector('[data-run="' + CSS.escape(id) + '"]');
    if (!row) {
      row = tpl.content.firstElementChild.cloneNode(true);
      row.dataset.run = id;
      const link = field(row, 'link');
      link.textContent = id;
      link.setAttribute('href', '/ui/runs/' + encodeURIComponent(id));
      const empty = tbody.querySelector('tr.empty');
      if (empty) empty.remove();
      tbody.prepend(row);
    }
    return row;
  }

  // addRun puts the run a scrape started at the top of the runs table and
  // follows it.
  function addRun(sum) {
    const row = runRow(sum.runId);
    if (!row) return;
    renderRun(row, {
      status: sum.unchanged ? 'unchanged' : 'running', trigger: sum.trigger, published: sum.published,
      processed: 0, failed: 0, startedAt: null,
    });
    refreshTotals();
    if (!sum.unchanged) watch(row);
  }

  // Runs started elsewhere (a schedule, another browser, curl) appear in
  // the overview's table by themselves: GET /runs, newest first, is read
  // now and then, and a run the table lacks is added at the top and
  // followed. The table keeps its length.
  const runsTable = document.querySelector('#runs[data-discover]');
  if (runsTable) {
    const size = Math.max(1, parseInt(runsTable.dataset.discover, 10) || 10);
    const discover = async () => {
      const res = await getJSON('/runs?limit=' + size);
      if (!res.ok || !res.body || !Array.isArray(res.body.items)) return;
      const fresh = res.body.items.filter((r) => typeof r.id === 'string' &&
        !runsTable.querySelector('tbody [data-run="' + CSS.escape(r.id) + '"]'));
      // Oldest first, so that each prepend leaves the newest on top.
      for (const r of fresh.reverse()) {
        const row = runRow(r.id);
        if (!row) return;
        renderRun(row, r);
        if (r.status === 'running') watch(row);
      }
      const rows = runsTable.querySelectorAll('tbody tr[data-run]');
      for (let i = size; i < rows.length; i++) rows[i].remove();
      if (fresh.length) refreshTotals();
    };
    const tick = async () => {
      try {
        if (document.visibilityState === 'visible') await discover();
      } catch (e) {
        // the API did not answer: ask again later
      }
      setTimeout(tick, POLL_STATUS_MS);
    };
    setTimeout(tick, POLL_STATUS_MS);
  }

  // --- devstack's stream panel.

  const stream = document.getElementById('stream');
  if (stream && stream.dataset.src) {
    const shards = document.getElementById('shards');
    const queues = document.getElementById('queues');
    const cell = (tag, text, cls) => {
      const c = document.createElement(tag);
      c.textContent = text;
      if (cls) c.className = cls;
      return c;
    };
    const seq = (s) => {
      const span = cell('span', s ? (s.length > 14 ? '…' + s.slice(-12) : s) : '—', 'mono');
      if (s) span.title = s;
      return span;
    };
    const render = (st) => {
      const rows = (st.stream && st.stream.shards || []).map((sh) => {
        const tr = document.createElement('tr');
        const th = cell('th', sh.shardId, 'mono');
        th.scope = 'row';
        tr.append(th);
        const latest = document.createElement('td');
        latest.append(seq(sh.latestSequenceNumber));
        const cp = document.createElement('td');
        cp.append(seq(sh.checkpoint));
        const caughtUp = !sh.latestSequenceNumber || sh.checkpoint === sh.latestSequenceNumber;
        cp.append(cell('span', caughtUp ? ' caught up' : ' behind', 'sub'));
        tr.append(latest, cp, cell('td', fmtAge(sh.iteratorAgeMs || 0), 'num'), cell('td', fmtInt(sh.batchesInFlight || 0), 'num'));
        return tr;
      });
      shards.replaceChildren(...rows);
      const q = (x) => (x ? fmtInt(x.visible) + ' waiting, ' + fmtInt(x.inFlight) + ' in flight' : '—');
      setText(queues, 'onFailure', q(st.onFailureQueue));
      setText(queues, 'deadLetter', q(st.deadLetterQueue));
    };
    let stopped = false;
    const read = async () => {
      if (stopped) return;
      try {
        const res = await getJSON(stream.dataset.src);
        if (!res.ok || !res.body) {
          stopped = true; // not devstack after all: stop asking
          shards.replaceChildren(cell('tr', ''));
          shards.firstChild.append(cell('td', 'The status is not available (HTTP ' + res.status + ').'));
          return;
        }
        render(res.body);
      } catch (e) {
        // devstack stopped: keep the last figures, ask again later
      }
    };
    refreshStatus = read;
    const tick = async () => {
      if (document.visibilityState === 'visible') await read();
      if (!stopped) setTimeout(tick, POLL_STATUS_MS);
    };
    tick();
  }
})();
