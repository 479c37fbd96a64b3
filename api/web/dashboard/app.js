// Neuroplex dashboard. Talks to the node that served it: the WebSocket JSON protocol at /ws
// (cluster.status every second, watch/unwatch for the live view) and the Prometheus text at
// /metrics every 2 s for the operations chart. Plain browser JavaScript, no libraries.
'use strict';

const STATUS_PERIOD_MS = 1000;
const METRICS_PERIOD_MS = 2000;
const CHART_WINDOW_MS = 5 * 60 * 1000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10000;
const REQUEST_TIMEOUT_MS = 10000;
const WATCH_ROWS_SHOWN_MAX = 1000;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// Connection: one WebSocket, requests matched to replies by id, reconnect with backoff.

const conn = {
  socket: null,
  up: false,
  nextId: 1,
  pending: new Map(),  // request id -> {resolve, reject, timer}
  backoffMs: RECONNECT_MIN_MS,
};

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const socket = new WebSocket(scheme + location.host + '/ws');
  conn.socket = socket;
  socket.onopen = () => {
    conn.up = true;
    conn.backoffMs = RECONNECT_MIN_MS;
    showConnection('connected', true);
    pollStatus();
    if (lastReading === null) pollMetrics();  // the first reading, without waiting 2 s
    if (watch.want) startWatch(watch.want);
  };
  socket.onmessage = (event) => handleMessage(event.data);
  socket.onerror = () => {};  // a close event always follows; it decides what to do
  socket.onclose = () => {
    if (conn.socket !== socket) return;
    conn.socket = null;
    conn.up = false;
    for (const p of conn.pending.values()) {
      clearTimeout(p.timer);
      p.reject({code: 'DISCONNECTED', message: 'the connection closed'});
    }
    conn.pending.clear();
    watchConnectionLost();
    const delayMs = Math.round(conn.backoffMs * (0.8 + 0.4 * Math.random()));
    conn.backoffMs = Math.min(conn.backoffMs * 2, RECONNECT_MAX_MS);
    showConnection(`reconnecting in ${(delayMs / 1000).toFixed(1)} s…`, false);
    setTimeout(connect, delayMs);
  };
}

function showConnection(text, up) {
  const el = $('conn');
  el.textContent = text;
  el.className = 'conn ' + (up ? 'conn-up' : 'conn-down');
}

// Sends {id, op, ...fields}; resolves with `result` or rejects with `error` ({code, message}).
function request(op, fields = {}) {
  return new Promise((resolve, reject) => {
    if (!conn.up) {
      reject({code: 'DISCONNECTED', message: 'not connected'});
      return;
    }
    const id = conn.nextId++;
    const timer = setTimeout(() => {
      conn.pending.delete(id);
      reject({code: 'TIMEOUT', message: `no reply to ${op} in ${REQUEST_TIMEOUT_MS / 1000} s`});
    }, REQUEST_TIMEOUT_MS);
    conn.pending.set(id, {resolve, reject, timer});
    conn.socket.send(JSON.stringify({id, op, ...fields}));
  });
}

function handleMessage(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch (e) {
    return;  // not ours to crash on; the protocol sends one JSON object a frame
  }
  if (msg === null || typeof msg !== 'object') return;
  if ('id' in msg) {
    const p = conn.pending.get(msg.id);
    if (!p) return;  // timed out already
    conn.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.result || {});
    else p.reject(msg.error || {code: 'UNKNOWN', message: 'request failed'});
  } else if ('watch' in msg) {
    handleWatchMessage(msg);
  }
}

function describeError(err) {
  if (err && err.code) return `${err.code}: ${err.message || ''}`;
  return String(err && err.message ? err.message : err);
}

function showNotice(id, text) {
  const el = $(id);
  el.textContent = text || '';
  el.hidden = !text;
}

// Builds a <tr> of text cells (never HTML: keys and values are user data).
function row(cells, classes = []) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    td.textContent = cell;
    tr.appendChild(td);
  }
  for (const c of classes) tr.classList.add(c);
  return tr;
}

// ---------------------------------------------------------------------------------------------
// Cluster status: this node and its members, refreshed every second.

let statusInFlight = false;

function pollStatus() {
  if (!conn.up || statusInFlight) return;
  statusInFlight = true;
  request('cluster.status')
      .then((status) => {
        renderStatus(status);
        showNotice('status-error', '');
      })
      .catch((err) => showNotice('status-error', 'cluster.status failed: ' + describeError(err)))
      .finally(() => {
        statusInFlight = false;
      });
}

const dash = (n) => (n === undefined || n === null ? '—' : String(n));

function renderStatus(s) {
  $('node-id').textContent = dash(s.id);
  $('node-role').textContent = dash(s.role);
  $('node-term').textContent = dash(s.term);
  $('node-leader').textContent =
      s.leader ? `${s.leader}${s.leader_address ? ' (' + s.leader_address + ')' : ''}` : 'none';
  $('node-commit').textContent = dash(s.commit);
  $('node-applied').textContent = dash(s.applied);

  const members = Array.isArray(s.members) ? [...s.members] : [];
  members.sort((a, b) => a.id - b.id);
  const tbody = $('members').tBodies[0];
  const rows = members.map((m) => {
    // Match indexes are known only to the leader; 0 means "not known yet".
    const known = s.role === 'leader' && m.match > 0;
    const lag = known ? Math.max(0, s.commit - m.match) : '—';
    const tr = row([m.id, m.address, m.role || '—', m.voter ? 'yes' : 'no',
                    known ? m.match : '—', lag],
                   m.role === 'leader' ? ['leader'] : []);
    tr.dataset.id = m.id;
    return tr;
  });
  tbody.replaceChildren(...rows);
}

// ---------------------------------------------------------------------------------------------
// Operations per second: counters from /metrics every 2 s, rates over the last 5 minutes.

let lastReading = null;  // {t (ms, monotonic), applied, requests}: the latest counter values
let metricsInFlight = false;
const rates = [];  // {t, applied, requests}: per-second rates between consecutive readings

// The counters the chart needs from Prometheus text: neuroplex_applied_ops_total (one sample) and
// the sum of every neuroplex_requests_total{...} sample. A missing counter is null.
function parseMetrics(text) {
  let applied = null;
  let requests = null;
  for (const line of text.split('\n')) {
    // A family with no samples yet (no request so far) is declared by its TYPE line: a zero.
    if (line.startsWith('# TYPE neuroplex_requests_total ')) requests = requests || 0;
    if (line === '' || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    if (m[1] === 'neuroplex_applied_ops_total') applied = value;
    else if (m[1] === 'neuroplex_requests_total') requests = (requests || 0) + value;
  }
  return {applied, requests};
}

// Rate of one counter between two readings; null across a reset or a missing reading.
function rate(prev, next, dtSeconds) {
  if (prev === null || next === null || next < prev) return null;
  return (next - prev) / dtSeconds;
}

function pollMetrics() {
  if (!conn.up || metricsInFlight) {
    drawChart();  // node away (a fetch would only log a network error) or slow; time moves on
    return;
  }
  metricsInFlight = true;
  fetch('/metrics', {cache: 'no-store'})
      .then((response) => {
        if (!response.ok) throw new Error(`/metrics answered HTTP ${response.status}`);
        return response.text();
      })
      .then((text) => {
        const reading = {t: performance.now(), ...parseMetrics(text)};
        const prev = lastReading;
        lastReading = reading;
        if (prev) {
          const dt = (reading.t - prev.t) / 1000;
          rates.push({
            t: reading.t,
            applied: rate(prev.applied, reading.applied, dt),
            requests: rate(prev.requests, reading.requests, dt),
          });
        }
        const missing = [];
        if (reading.applied === null) missing.push('neuroplex_applied_ops_total');
        if (reading.requests === null) missing.push('neuroplex_requests_total');
        showNotice('metrics-error', missing.length ? 'not in /metrics: ' + missing.join(', ') : '');
      })
      .catch((err) => showNotice('metrics-error', 'metrics unavailable: ' + describeError(err)))
      .finally(() => {
        metricsInFlight = false;
        drawChart();
      });
}

function formatRate(r) {
  if (r === null || r === undefined) return '—';
  return r >= 100 ? Math.round(r).toString() : r.toFixed(1);
}

// The smallest 1, 2 or 5 times a power of ten that is at least `x` (and at least 1).
function niceCeil(x) {
  if (!(x > 1)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) {
    if (m * p >= x) return m * p;
  }
  return 10 * p;
}

function drawChart() {
  const now = performance.now();
  while (rates.length && rates[0].t < now - CHART_WINDOW_MS) rates.shift();
  const last = rates[rates.length - 1];
  $('rate-applied').textContent = formatRate(last && last.applied);
  $('rate-requests').textContent = formatRate(last && last.requests);

  const canvas = $('ops-chart');
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 720;
  const height = canvas.clientHeight || 200;
  if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
  if (canvas.height !== Math.round(height * dpr)) canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const style = getComputedStyle(document.documentElement);
  const color = (name) => style.getPropertyValue(name).trim() || '#000';
  const left = 44, right = width - 8, top = 8, bottom = height - 20;
  let max = 0;
  for (const r of rates) max = Math.max(max, r.applied || 0, r.requests || 0);
  max = niceCeil(max);
  const x = (t) => right - ((now - t) / CHART_WINDOW_MS) * (right - left);
  const y = (v) => bottom - (v / max) * (bottom - top);

  // Grid: three horizontal lines with their rates, a tick per minute.
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = color('--muted');
  ctx.strokeStyle = color('--line');
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of [0, max / 2, max]) {
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(v)) + 0.5);
    ctx.lineTo(right, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.fillText(formatRate(v), left - 6, y(v));
  }
  ctx.textBaseline = 'top';
  for (let minute = 5; minute >= 0; --minute) {
    ctx.textAlign = minute === 5 ? 'left' : minute === 0 ? 'right' : 'center';
    ctx.fillText(minute ? `−${minute} min` : 'now', x(now - minute * 60000), bottom + 4);
  }

  if (rates.length === 0) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('collecting…', (left + right) / 2, (top + bottom) / 2);
    return;
  }
  for (const [field, colorName] of [['applied', '--applied'], ['requests', '--requests']]) {
    ctx.strokeStyle = ctx.fillStyle = color(colorName);
    ctx.lineWidth = 2;
    ctx.beginPath();
    rates.forEach((r, i) => {
      const v = r[field];
      if (v === null) return;  // a gap: a counter reset or missing
      const prev = rates[i - 1];
      const next = rates[i + 1];
      if (prev && prev[field] !== null) {
        ctx.lineTo(x(r.t), y(v));
      } else {
        ctx.moveTo(x(r.t), y(v));
        // A point with no neighbour on either side draws no line; show it as a dot.
        if (!next || next[field] === null) ctx.fillRect(x(r.t) - 2, y(v) - 2, 4, 4);
      }
    });
    ctx.stroke();
  }
}

// ---------------------------------------------------------------------------------------------
// Live view of one namespace: watch, then keep a key -> value table current. The watch starts
// from index 1, so the node first sends every live document (each changed one once, with its
// current value, or a resync of all of them) and then each change: the table is the namespace's
// current contents, not only what changed since the button was pressed.

const watch = {
  want: null,       // {ns, prefix} the user asked for; re-established after a reconnect
  id: null,         // the server's watch id while one is running
  generation: 0,    // bumps on every start, so a late reply to an older request is dropped
  requesting: false,
  early: [],        // watch messages that arrived before the reply naming their watch id
  rows: new Map(),  // key -> {value, index}
  renderTimer: null,
};

function setWatchState(text) {
  $('watch-state').textContent = text;
}

function startWatch(target) {
  if (watch.id !== null && conn.up) request('unwatch', {watch: watch.id}).catch(() => {});
  watch.id = null;
  watch.want = target;
  watch.rows.clear();
  watch.early = [];
  renderWatchRows();
  showNotice('watch-notice', '');
  const prefix = target.prefix ? `, keys starting “${target.prefix}”,` : '';
  const what = `“${target.ns}”${prefix}`;
  if (!conn.up) {
    setWatchState(`Waiting for the connection to watch ${what}…`);
    return;
  }
  const generation = ++watch.generation;
  watch.requesting = true;
  setWatchState(`Starting a watch of ${what}…`);
  request('watch', {ns: target.ns, prefix: target.prefix, from_index: 1})
      .then((result) => {
        if (generation !== watch.generation) {
          request('unwatch', {watch: result.watch}).catch(() => {});
          return;
        }
        watch.requesting = false;
        watch.id = result.watch;
        setWatchState(`Watching ${what} (current contents as of index ${result.start_index}, ` +
                      'then every change).');
        const early = watch.early;
        watch.early = [];
        for (const msg of early) handleWatchMessage(msg);
      })
      .catch((err) => {
        if (generation !== watch.generation) return;
        watch.requesting = false;
        if (err.code === 'DISCONNECTED') return;  // re-sent after the reconnect
        watch.want = null;
        setWatchState('Not watching.');
        showNotice('watch-notice', 'watch failed: ' + describeError(err));
      });
}

function watchConnectionLost() {
  watch.id = null;
  watch.requesting = false;
  watch.early = [];
  if (watch.want) setWatchState('Connection lost; the watch restarts when it is back.');
}

function handleWatchMessage(msg) {
  if (watch.id === null) {
    if (watch.requesting && watch.early.length < 10000) watch.early.push(msg);
    return;
  }
  if (msg.watch !== watch.id) return;  // an older watch, already unwatched
  if (msg.event) {
    const e = msg.event;
    if (e.deleted) watch.rows.delete(e.key);
    else watch.rows.set(e.key, {value: e.value, index: e.index});
    scheduleWatchRender();
  } else if (msg.overflow) {
    watch.id = null;
    watch.want = null;
    setWatchState('Not watching.');
    showNotice('watch-notice',
               `The watch fell behind and the server ended it (resume from index ` +
                   `${msg.overflow.resume_from}): ${msg.overflow.message || ''} ` +
                   `Press Watch to start again.`);
  } else if (msg.closed) {
    watch.id = null;
    watch.want = null;
    setWatchState('Not watching.');
    showNotice('watch-notice', 'The watch was closed: ' + describeError(msg.closed));
  }
}

// Events can arrive thousands a second; the table is redrawn at most every 100 ms.
function scheduleWatchRender() {
  if (watch.renderTimer !== null) return;
  watch.renderTimer = setTimeout(() => {
    watch.renderTimer = null;
    renderWatchRows();
  }, 100);
}

function renderWatchRows() {
  const keys = [...watch.rows.keys()].sort();
  const shown = keys.slice(0, WATCH_ROWS_SHOWN_MAX).map((key) => {
    const {value, index} = watch.rows.get(key);
    const tr = row([key, JSON.stringify(value), index]);
    tr.dataset.key = key;
    tr.cells[1].className = 'value';
    return tr;
  });
  if (keys.length > WATCH_ROWS_SHOWN_MAX) {
    shown.push(row([`… and ${keys.length - WATCH_ROWS_SHOWN_MAX} more keys`, '', '']));
  }
  $('watch-table').tBodies[0].replaceChildren(...shown);
}

$('watch-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const ns = $('watch-ns').value.trim();
  if (ns === '') return;
  startWatch({ns, prefix: $('watch-prefix').value});
});

// ---------------------------------------------------------------------------------------------

connect();
setInterval(pollStatus, STATUS_PERIOD_MS);
setInterval(pollMetrics, METRICS_PERIOD_MS);
drawChart();
window.addEventListener('resize', drawChart);
