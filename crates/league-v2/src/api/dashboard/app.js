// League dashboard: reads the league read API and follows its Server-Sent
// Events. Plain DOM, no framework. Text from the API only ever reaches the
// page through textContent / attributes, never as markup.
'use strict';
(() => {
  const PER_PAGE = 25;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const STATUS_RANK = { registering: 0, running: 1, completed: 2 };
  const STATE_RANK = { scheduled: 0, playing: 1, finished: 2 };
  const COLORS = ['#4e9af1', '#f28e2b', '#59c36a', '#e15759', '#b07aa1',
    '#edc948', '#76d7c4', '#ff9da7', '#9c755f', '#bab0ac'];
  const RATING_FIELDS = ['rating', 'rating_low', 'rating_high', 'glicko', 'glicko_deviation'];
  const EVENTS = ['round_started', 'match_started', 'match_finished', 'standings_changed',
    'round_completed', 'league_completed', 'resync'];

  const $ = (sel) => document.querySelector(sel);
  const S = fresh(null);

  function fresh(id) {
    return {
      id, gen: 0, es: null, opened: false, retry: 1000, timers: {}, seq: {},
      summary: null, champion: null, players: [], names: new Map(), colors: new Map(),
      standings: [], matchesPlayed: -1, matches: new Map(), live: new Set(), pendingStarts: null,
      history: [], page: 1, pages: 1, total: 0, pageIds: [], filter: 'finished',
      detailId: null, detail: null, prevPoints: new Map(),
    };
  }

  // ---- small helpers ----------------------------------------------------
  const el = (tag, props, ...kids) => make(document.createElement(tag), props, kids);
  const sv = (tag, props, ...kids) => make(document.createElementNS(SVGNS, tag), props, kids);
  function make(e, props, kids) {
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids.flat()) if (k != null) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  const setText = (sel, v) => { $(sel).textContent = v == null ? '–' : String(v); };
  const fmt = (x) => (typeof x === 'number' && Number.isFinite(x) ? String(Math.round(x)) : '–');
  const num = (x) => typeof x === 'number' && Number.isFinite(x);
  // A player's display name, or its id where several players share that name.
  function name(pid) {
    if (pid == null) return '–';
    const n = S.names.get(pid);
    return n && [...S.names.values()].filter((x) => x === n).length === 1 ? n : String(pid);
  }
  const enc = encodeURIComponent;
  const base = () => `/api/leagues/${enc(S.id)}`;
  const safeUrl = (u) => (typeof u === 'string' && u.startsWith('/') && !u.startsWith('//') ? u : null);

  function colorOf(pid) {
    if (!S.colors.has(pid)) S.colors.set(pid, COLORS[S.colors.size % COLORS.length]);
    return S.colors.get(pid);
  }
  // Runs fn once, ms from the first call since it last ran (a steady stream of events
  // still refreshes every ms).
  function later(key, ms, fn) {
    if (S.timers[key]) return;
    S.timers[key] = setTimeout(() => { delete S.timers[key]; fn(); }, ms);
  }
  // A ticket per kind of request: only the newest answer is applied.
  function ticket(key) { S.seq[key] = (S.seq[key] || 0) + 1; return S.seq[key]; }
  async function api(path) {
    const res = await fetch(path, { headers: { accept: 'application/json' } });
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const msg = body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`;
      throw new Error(`${path}: ${msg}`);
    }
    return body;
  }
  function banner(msg) { $('#banner').hidden = !msg; $('#banner').textContent = msg || ''; }
  function guard(gen, p) {
    return p.catch((e) => { if (gen === S.gen) banner(e.message || String(e)); });
  }

  // ---- league choice ------------------------------------------------------
  async function init() {
    $('#match-filter').addEventListener('change', (e) => {
      S.filter = e.target.value; S.page = 1; S.total = 0; S.pageIds = []; loadHistory();
    });
    $('#page-newer').addEventListener('click', () => { if (S.page > 1) { S.page--; loadHistory(); } });
    $('#page-older').addEventListener('click', () => { if (S.page < S.pages) { S.page++; loadHistory(); } });
    $('#match-detail-close').addEventListener('click', closeDetail);
    $('#league-select').addEventListener('change', (e) => selectLeague(e.target.value, true));
    setInterval(poll, 5000);
    await pickLeague();
  }

  async function pickLeague() {
    let list;
    try {
      list = (await api('/api/leagues')).leagues || [];
    } catch (e) {
      banner(e.message); setTimeout(pickLeague, 5000); return;
    }
    const wanted = new URLSearchParams(location.search).get('league');
    const sel = $('#league-select');
    sel.replaceChildren(...list.map((l) => el('option', { value: l.id, text: `${l.id} · ${l.game} · ${l.status}` })));
    $('#league-picker').hidden = list.length < 2;
    const id = wanted || (list.length ? list[list.length - 1].id : null);
    if (!id) {
      banner('No league yet; waiting for one.');
      setTimeout(pickLeague, 3000);
      return;
    }
    banner('');
    if (!list.some((l) => l.id === id)) sel.append(el('option', { value: id, text: id }));
    sel.value = id;
    selectLeague(id);
  }

  function selectLeague(id, pin) {
    if (S.es) S.es.close();
    for (const t of Object.values(S.timers)) clearTimeout(t);
    const gen = S.gen + 1;
    Object.assign(S, fresh(id), { gen, filter: $('#match-filter').value });
    if (pin) { // a league chosen by hand stays chosen on reload
      const url = new URL(location.href);
      url.searchParams.set('league', id);
      history.replaceState(null, '', url);
    }
    closeDetail();
    banner('');
    document.body.dataset.matchesPlayed = '0';
    setText('#league-id', id);
    guard(gen, loadSummary()).then(() => {
      if (gen !== S.gen) return;
      if (S.summary && S.summary.live) connect(gen);
      else { setConn('not live'); loadAll(); }
    });
  }

  // ---- events -------------------------------------------------------------
  function connect(gen) {
    if (gen !== S.gen) return;
    setConn(S.opened ? 'reconnecting' : 'connecting');
    const es = new EventSource(`${base()}/events`);
    S.es = es;
    es.addEventListener('open', () => {
      if (es !== S.es) return;
      S.opened = true; S.retry = 1000;
      setConn('connected');
      later('all', 50, loadAll); // anything missed while (re)connecting
    });
    es.addEventListener('error', () => {
      if (es !== S.es) return;
      setConn('reconnecting');
      if (!S.opened) later('all', 50, loadAll);
      if (es.readyState === EventSource.CLOSED) { // the browser gave up: try again ourselves
        S.retry = Math.min(S.retry * 2, 30000);
        setTimeout(() => { if (es === S.es) connect(gen); }, S.retry);
      }
    });
    for (const name of EVENTS) {
      es.addEventListener(name, (ev) => {
        if (es !== S.es) return;
        let data;
        try { data = JSON.parse(ev.data); } catch (_) { return; }
        document.body.dataset.eventsReceived = String(Number(document.body.dataset.eventsReceived || 0) + 1);
        try { HANDLERS[name](data || {}); } catch (e) { console.warn('event', name, e); }
      });
    }
  }

  function setConn(state) {
    $('#sse-state').textContent = document.body.dataset.sse = state;
    $('#sse-dot').className = `dot ${state.replace(/\s+/g, '-')}`;
  }

  const HANDLERS = {
    round_started(d) {
      advanceStatus('running');
      for (const m of d.matches || []) upsertMatch(m);
      renderMatches();
      if (S.summary && !S.summary.rounds) guard(S.gen, loadSummary()); // the schedule's size, now known
      later('summary', 300, loadSummary);
      later('history', 600, loadHistory);
    },
    match_started(d) {
      advanceStatus('running');
      upsertMatch({ ...d, state: 'playing' });
      if (!isDone(d.match_id)) S.live.add(d.match_id);
      if (S.pendingStarts) S.pendingStarts.add(d.match_id);
      if (S.filter === 'playing' && S.page === 1) addToPage(d.match_id);
      renderLive(); renderMatches();
      if (S.detailId === d.match_id) openDetail(d.match_id);
      later('history', 600, loadHistory);
    },
    match_finished(d) {
      upsertMatch({ ...d, state: 'finished' });
      S.live.delete(d.match_id);
      if (S.filter === 'finished' && S.page === 1 && !S.pageIds.includes(d.match_id)) {
        addToPage(d.match_id); S.total += 1;
      }
      renderLive(); renderMatches();
      if (S.detailId === d.match_id) openDetail(d.match_id);
      later('history', 600, loadHistory);
    },
    standings_changed(d) {
      setStandings(d.standings || [], d.matches_played);
      later('standings', 1000, () => guard(S.gen, loadStandings())); // ratings the event may lack
    },
    round_completed(d) {
      if (S.summary && num(d.round)) {
        S.summary.rounds_completed = Math.max(S.summary.rounds_completed || 0, d.round);
        renderSummary();
      }
      later('chart', 200, loadChart);
      later('summary', 300, loadSummary);
    },
    league_completed(d) {
      advanceStatus('completed');
      if (d.champion) S.champion = d.champion;
      if (S.summary && S.summary.rounds) S.summary.rounds_completed = S.summary.rounds;
      noteMatchesPlayed(d.matches_played);
      S.live.clear();
      renderSummary(); renderLive();
      later('chart', 200, loadChart);
      later('summary', 300, loadSummary);
      later('history', 600, loadHistory);
      later('standings', 600, () => guard(S.gen, loadStandings()));
    },
    resync() { later('all', 50, loadAll); },
  };

  function poll() {
    if (!S.id) return;
    if (!S.summary || (S.summary.live && !S.es)) {
      const gen = S.gen;
      guard(gen, loadSummary()).then(() => {
        if (gen === S.gen && S.summary && S.summary.live && !S.es) connect(gen);
      });
      return;
    }
    if (S.summary.status === 'registering') loadAll(); // players register without events
    else if (S.summary.live && document.body.dataset.sse !== 'connected') loadAll();
  }

  // ---- loading ----------------------------------------------------------
  function loadAll() {
    const gen = S.gen;
    return guard(gen, Promise.all([loadSummary(), loadStandings(), loadHistory(), loadLive(), loadChart()]));
  }

  async function loadSummary() {
    const gen = S.gen;
    const d = await api(base());
    if (gen !== S.gen) return;
    const old = S.summary;
    if (old) { // events may be ahead of what was read
      if ((STATUS_RANK[old.status] || 0) > (STATUS_RANK[d.status] || 0)) d.status = old.status;
      d.rounds_completed = Math.max(d.rounds_completed || 0, old.rounds_completed || 0);
      d.matches_played = Math.max(d.matches_played || 0, old.matches_played || 0);
    }
    S.summary = d;
    if (d.champion) S.champion = d.champion;
    noteMatchesPlayed(d.matches_played);
    renderSummary();
  }

  async function loadStandings() {
    const gen = S.gen, t = ticket('standings');
    const [st, pl] = await Promise.all([api(`${base()}/standings`), api(`${base()}/players`)]);
    if (gen !== S.gen || t !== S.seq.standings) return;
    S.players = pl.players || [];
    for (const p of S.players) { S.names.set(p.player_id, p.display_name); colorOf(p.player_id); }
    setStandings(st.standings || [], st.matches_played);
  }

  async function loadHistory() {
    const gen = S.gen, t = ticket('history');
    const url = (p) => `${base()}/matches?page=${p}&per_page=${PER_PAGE}` +
      (S.filter === 'all' ? '' : `&state=${enc(S.filter)}`);
    const pagesOf = (total) => Math.max(1, Math.ceil(total / PER_PAGE));
    let pages = pagesOf(S.total);
    let res = await api(url(Math.max(1, pages - S.page + 1)));
    if (pagesOf(res.total) !== pages) { // page 1 here is the server's last page
      pages = pagesOf(res.total);
      S.page = Math.min(S.page, pages);
      res = await api(url(pages - S.page + 1));
    }
    if (gen !== S.gen || t !== S.seq.history) return;
    S.total = res.total; S.pages = pages;
    for (const m of res.matches || []) upsertMatch(m);
    S.pageIds = (res.matches || []).map((m) => m.match_id).reverse();
    renderMatches();
  }

  async function loadLive() {
    const gen = S.gen;
    S.pendingStarts = new Set();
    const res = await api(`${base()}/matches?state=playing&per_page=500`);
    if (gen !== S.gen) return;
    for (const m of res.matches || []) upsertMatch(m);
    const ids = [...(res.matches || []).map((m) => m.match_id), ...S.pendingStarts];
    S.pendingStarts = null;
    S.live = new Set(ids.filter((id) => !isDone(id)));
    renderLive();
  }

  async function loadChart() {
    const gen = S.gen;
    const d = await api(`${base()}/ratings/history`);
    if (gen !== S.gen) return;
    S.history = d.rounds || [];
    renderChart();
  }

  // ---- state merging ------------------------------------------------------
  function advanceStatus(status) {
    if (!S.summary) return;
    if ((STATUS_RANK[status] || 0) > (STATUS_RANK[S.summary.status] || 0)) {
      S.summary.status = status;
      renderSummary();
    }
  }
  function isDone(id) { const m = S.matches.get(id); return !!m && m.state === 'finished'; }
  function upsertMatch(m) {
    if (!m || !m.match_id) return null;
    const old = S.matches.get(m.match_id);
    let merged = { ...old, ...m };
    if (old && (STATE_RANK[old.state] || 0) > (STATE_RANK[m.state] || 0)) {
      merged = { ...merged, state: old.state, status: old.status, winner: old.winner };
    }
    S.matches.set(m.match_id, merged);
    return merged;
  }
  function addToPage(id) {
    if (S.pageIds.includes(id)) return;
    S.pageIds.unshift(id);
    if (S.pageIds.length > PER_PAGE) S.pageIds.pop();
  }
  function noteMatchesPlayed(n) {
    if (!num(n)) return;
    const cur = Number(document.body.dataset.matchesPlayed || 0);
    document.body.dataset.matchesPlayed = String(Math.max(n, cur));
    if (S.summary && n > (S.summary.matches_played || 0)) { S.summary.matches_played = n; renderSummary(); }
  }
  function setStandings(rows, matchesPlayed) {
    const mp = num(matchesPlayed) ? matchesPlayed : 0;
    if (mp < S.matchesPlayed) return; // older than what is shown
    const prev = new Map(S.standings.map((r) => [r.player_id, r]));
    S.standings = rows.map((r) => {
      const p = prev.get(r.player_id);
      const out = { ...r };
      if (p) for (const f of RATING_FIELDS) if (!num(out[f]) && num(p[f])) out[f] = p[f];
      if (r.display_name) S.names.set(r.player_id, r.display_name);
      colorOf(r.player_id);
      return out;
    });
    S.matchesPlayed = mp;
    noteMatchesPlayed(mp);
    renderStandings();
    renderSummary();
  }

  // ---- rendering ----------------------------------------------------------
  function renderSummary() {
    const s = S.summary;
    if (!s) return;
    setText('#league-id', s.id);
    setText('#league-game', s.game);
    $('#league-status').textContent = s.status;
    $('#league-status').className = `badge status-${s.status}`;
    setText('#league-rounds', `${s.rounds_completed ?? 0} / ${s.rounds ?? 0}`);
    setText('#league-matches', `${s.matches_played ?? 0} / ${s.matches ?? 0}`);
    const top = S.matchesPlayed > 0 ? S.standings[0] : null;
    const lead = s.status === 'completed' ? S.champion || top : top;
    let leader = '–';
    if (typeof lead === 'string') leader = name(lead);
    else if (lead && lead.player_id) {
      leader = `${S.names.has(lead.player_id) ? name(lead.player_id) : lead.display_name || lead.player_id} (${lead.points ?? 0} pts)`;
    }
    setText('#league-champion', leader);
    $('#league-champion').previousElementSibling.textContent = s.status === 'completed' ? 'Champion' : 'Leader';
    document.title = `${s.id} · ${s.status} · League dashboard`;
    const opt = [...$('#league-select').options].find((o) => o.value === s.id);
    if (opt) opt.textContent = `${s.id} · ${s.game} · ${s.status}`;
  }

  function renderStandings() {
    let rows = S.standings;
    if (!rows.length && S.players.length) { // before any result: the registered players at 0
      rows = S.players.map((p, i) => ({ rank: i + 1, player_id: p.player_id, display_name: p.display_name,
        played: 0, wins: 0, draws: 0, losses: 0, technical_losses: 0, points: 0 }));
    }
    const ivs = rows.filter((r) => num(r.rating_low) && num(r.rating_high));
    let lo = Math.min(...ivs.map((r) => r.rating_low));
    let hi = Math.max(...ivs.map((r) => r.rating_high));
    if (hi - lo < 1) { lo -= 50; hi += 50; }
    const pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
    const body = $('#standings tbody');
    body.replaceChildren(...rows.map((r) => {
      const before = S.prevPoints.get(r.player_id);
      const changed = before != null && before !== r.points;
      S.prevPoints.set(r.player_id, r.points);
      const nameCell = el('td', { class: 'player', title: r.player_id }, el('span', { class: 'pl' },
        swatch(colorOf(r.player_id)),
        el('span', { class: 'pname', text: r.display_name || r.player_id }),
        r.display_name && r.display_name !== r.player_id ? el('span', { class: 'muted small', text: r.player_id }) : null));
      const rating = num(r.rating)
        ? `${fmt(r.rating)} [${fmt(r.rating_low)}, ${fmt(r.rating_high)}]` : '–';
      const glicko = num(r.glicko) ? `${fmt(r.glicko)} ± ${fmt(r.glicko_deviation)}` : '–';
      return el('tr', { dataset: { player: r.player_id } },
        el('td', { class: 'num rank', text: r.rank }),
        nameCell,
        el('td', { class: 'num played', text: r.played ?? 0 }),
        el('td', { class: 'num wins', text: r.wins ?? 0 }),
        el('td', { class: 'num draws', text: r.draws ?? 0 }),
        el('td', { class: 'num losses', text: r.losses ?? 0 }),
        el('td', { class: 'num technical', text: r.technical_losses ?? 0 }),
        el('td', { class: `num points${changed ? ' flash' : ''}`, text: r.points ?? 0 }),
        el('td', { class: 'rating mono', text: rating }),
        el('td', { class: 'iv' }, ivBar(r, lo, hi)),
        el('td', { class: 'num glicko mono', text: glicko }));
    }));
    $('#standings-empty').hidden = rows.length > 0;
  }

  function swatch(color) {
    return sv('svg', { width: 10, height: 10, viewBox: '0 0 10 10', 'aria-hidden': 'true' },
      sv('circle', { cx: 5, cy: 5, r: 4.5, fill: color }));
  }

  function ivBar(r, lo, hi) {
    const W = 120, H = 14;
    const g = sv('svg', { class: 'ivbar', width: W, height: H, viewBox: `0 0 ${W} ${H}` },
      sv('line', { x1: 0, x2: W, y1: H / 2, y2: H / 2, class: 'iv-axis' }));
    if (!(num(r.rating_low) && num(r.rating_high) && num(r.rating))) return g;
    const x = (v) => Math.max(0, Math.min(W, ((v - lo) / (hi - lo)) * W));
    g.append(
      sv('rect', { x: x(r.rating_low), y: 3, width: Math.max(2, x(r.rating_high) - x(r.rating_low)), height: H - 6,
        rx: 3, class: 'iv-range', fill: colorOf(r.player_id) }),
      sv('line', { x1: x(r.rating), x2: x(r.rating), y1: 1, y2: H - 1, class: 'iv-point' }),
      sv('title', { text: `${fmt(r.rating)} (95 %: ${fmt(r.rating_low)} – ${fmt(r.rating_high)})` }));
    return g;
  }

  function niceTicks(lo, hi, n) {
    const raw = (hi - lo) / n;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
    const ticks = [];
    for (let v = Math.floor(lo / step) * step; v <= Math.ceil(hi / step) * step + step / 2; v += step) ticks.push(v);
    return ticks;
  }

  function renderChart() {
    const svg = $('#rating-chart');
    const legend = $('#chart-legend');
    const W = 760, H = 260, M = { l: 52, r: 16, t: 14, b: 36 };
    const iw = W - M.l - M.r, ih = H - M.t - M.b;
    const rounds = S.history.filter((r) => num(r.round));
    svg.setAttribute('viewBox', `0 0 ${W} ${rounds.length ? H : 60}`);
    if (!rounds.length) {
      svg.replaceChildren(sv('text', { x: W / 2, y: 34, class: 'chart-empty', 'text-anchor': 'middle',
        text: 'No completed round yet' }));
      legend.replaceChildren();
      return;
    }
    const series = new Map();
    let ymin = Infinity, ymax = -Infinity;
    for (const r of rounds) {
      for (const p of r.ratings || []) {
        if (!num(p.rating)) continue;
        if (!series.has(p.player_id)) series.set(p.player_id, []);
        series.get(p.player_id).push({ round: r.round, rating: p.rating, dev: p.deviation });
        ymin = Math.min(ymin, p.rating); ymax = Math.max(ymax, p.rating);
      }
    }
    if (!series.size) { S.history = []; renderChart(); return; }
    if (ymax - ymin < 40) { const c = (ymax + ymin) / 2; ymin = c - 20; ymax = c + 20; }
    const ticks = niceTicks(ymin, ymax, 5);
    ymin = ticks[0]; ymax = ticks[ticks.length - 1];
    const xs = rounds.map((r) => r.round);
    const xmin = Math.min(...xs), xmax = Math.max(...xs);
    const X = (r) => (xmax === xmin ? M.l + iw / 2 : M.l + ((r - xmin) / (xmax - xmin)) * iw);
    const Y = (v) => M.t + ih - ((v - ymin) / (ymax - ymin)) * ih;
    const kids = [];
    for (const t of ticks) {
      kids.push(sv('line', { x1: M.l, x2: W - M.r, y1: Y(t), y2: Y(t), class: 'grid-line' }),
        sv('text', { x: M.l - 8, y: Y(t) + 4, 'text-anchor': 'end', class: 'tick', text: fmt(t) }));
    }
    const step = Math.max(1, Math.ceil((xmax - xmin + 1) / 14));
    for (let r = xmin; r <= xmax; r += step) {
      kids.push(sv('line', { x1: X(r), x2: X(r), y1: M.t + ih, y2: M.t + ih + 5, class: 'axis' }),
        sv('text', { x: X(r), y: M.t + ih + 18, 'text-anchor': 'middle', class: 'tick', text: r }));
    }
    kids.push(sv('line', { x1: M.l, x2: W - M.r, y1: M.t + ih, y2: M.t + ih, class: 'axis' }),
      sv('line', { x1: M.l, x2: M.l, y1: M.t, y2: M.t + ih, class: 'axis' }),
      sv('text', { x: M.l + iw / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis-title', text: 'round' }),
      sv('text', { x: 12, y: M.t + ih / 2, 'text-anchor': 'middle', class: 'axis-title',
        transform: `rotate(-90 12 ${M.t + ih / 2})`, text: 'Glicko-2' }));
    for (const [pid, pts] of series) {
      const color = colorOf(pid);
      pts.sort((a, b) => a.round - b.round);
      const d = pts.map((p, i) => `${i ? 'L' : 'M'}${X(p.round).toFixed(1)},${Y(p.rating).toFixed(1)}`).join('');
      const g = sv('g', { class: 'series', dataset: { player: pid } },
        sv('path', { d, stroke: color, class: 'series-line' }));
      for (const p of pts) {
        g.append(sv('circle', { cx: X(p.round), cy: Y(p.rating), r: 3.2, fill: color },
          sv('title', { text: `${name(pid)} · round ${p.round}: ${fmt(p.rating)} ± ${fmt(p.dev)}` })));
      }
      kids.push(g);
    }
    svg.replaceChildren(...kids);
    legend.replaceChildren(...[...series.keys()].map((pid) => el('span', { class: 'key' },
      sv('svg', { width: 16, height: 6, viewBox: '0 0 16 6', 'aria-hidden': 'true' },
        sv('rect', { x: 0, y: 1, width: 16, height: 4, rx: 2, fill: colorOf(pid) })),
      el('span', { text: name(pid) }))));
  }

  function resultText(m) {
    if (!m.status) return '';
    if (m.status === 'WIN') return `${name(m.winner)} won`;
    if (m.status === 'DRAW') return 'draw';
    if (m.status === 'TECHNICAL_LOSS') return m.winner ? `technical · ${name(m.winner)} wins` : 'technical · both lose';
    return String(m.status);
  }
  function stateBadge(state) { return el('span', { class: `badge state-${state}`, text: state }); }
  function playerCell(m, side) {
    const pid = m[side];
    return el('td', { class: `pcell${m.winner && m.winner === pid ? ' winner' : ''}`, title: pid, text: name(pid) });
  }

  function renderMatches() {
    const body = $('#matches tbody');
    const rows = S.pageIds.map((id) => S.matches.get(id)).filter(Boolean);
    body.replaceChildren(...rows.map((m) => el('tr', {
      dataset: { match: m.match_id, state: m.state }, tabindex: 0,
      class: m.match_id === S.detailId ? 'selected' : null,
      on: { click: () => openDetail(m.match_id),
        keydown: (e) => { if (e.key === 'Enter') openDetail(m.match_id); } },
    },
    el('td', { class: 'mono', text: m.match_id }),
    el('td', { class: 'num', text: m.round }),
    playerCell(m, 'player_a'), playerCell(m, 'player_b'),
    el('td', {}, stateBadge(m.state)),
    el('td', { class: 'result', title: resultText(m), text: resultText(m) }),
    el('td', { class: 'muted', text: m.referee_id || '' }))));
    $('#matches-empty').hidden = rows.length > 0;
    $('#page-info').textContent = `page ${S.page} / ${S.pages} · ${S.total} ${S.filter === 'all' ? '' : `${S.filter} `}matches`;
    $('#page-newer').disabled = S.page <= 1;
    $('#page-older').disabled = S.page >= S.pages;
  }

  function renderLive() {
    const items = [...S.live].map((id) => S.matches.get(id)).filter((m) => m && m.state === 'playing')
      .sort((a, b) => (a.round - b.round) || a.match_id.localeCompare(b.match_id, undefined, { numeric: true }));
    $('#live-matches').replaceChildren(...items.map((m) => el('div', {
      class: 'live-item', dataset: { match: m.match_id }, tabindex: 0, role: 'button',
      on: { click: () => openDetail(m.match_id) },
    },
    el('span', { class: 'pulse', 'aria-hidden': 'true' }),
    el('span', { class: 'mono', text: m.match_id }),
    el('span', { class: 'vs' }, el('b', { text: name(m.player_a) }), ' vs ', el('b', { text: name(m.player_b) })),
    el('span', { class: 'muted small', text: `round ${m.round ?? '?'}` }))));
    $('#live-count').textContent = String(items.length);
    $('#live-empty').hidden = items.length > 0;
  }

  // ---- match detail -------------------------------------------------------
  async function openDetail(id) {
    const gen = S.gen;
    S.detailId = id;
    const panel = $('#match-detail');
    if (panel.hidden || S.detail?.match_id !== id) { // another match: nothing of the last one stays
      clearMedia();
      S.detail = null;
      $('#match-detail-id').textContent = id;
      $('#match-detail-facts').replaceChildren();
      $('#moves tbody').replaceChildren();
      $('#match-detail-result-box').hidden = true;
      panel.hidden = false;
      panel.classList.add('loading');
      renderMatches();
    }
    try {
      const d = await api(`${base()}/matches/${enc(id)}`);
      if (gen !== S.gen || S.detailId !== id) return;
      const m = upsertMatch(d);
      renderDetail({ ...d, state: m.state, status: m.status, winner: m.winner });
      if (m.state === 'playing') later('detail', 2000, () => { if (S.detailId) openDetail(S.detailId); });
    } catch (e) {
      if (gen === S.gen) banner(e.message);
    } finally {
      panel.classList.remove('loading');
    }
  }

  function renderDetail(d) {
    const first = !S.detail || S.detail.match_id !== d.match_id;
    S.detail = d;
    $('#match-detail-id').textContent = d.match_id;
    const facts = [['Round', d.round], ['Player A', name(d.player_a)], ['Player B', name(d.player_b)],
      ['State', null], ['Result', resultText(d) || '–'], ['Winner', d.winner ? name(d.winner) : '–'],
      ['Referee', d.referee_id || '–']];
    $('#match-detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [
      el('dt', { text: k }), k === 'State' ? el('dd', {}, stateBadge(d.state)) : el('dd', { text: v ?? '–' })]));
    const media = $('#match-detail-media');
    const want = [];
    if (d.state === 'playing' && safeUrl(d.live_url)) want.push(['Live', safeUrl(d.live_url)]);
    if (safeUrl(d.replay_url)) want.push(['Replay', safeUrl(d.replay_url)]);
    const have = [...media.querySelectorAll('img')].map((i) => i.dataset.src).join('|');
    if (first || have !== want.map((w) => w[1]).join('|')) { // keep a running stream as it is
      for (const img of media.querySelectorAll('img')) img.removeAttribute('src');
      media.replaceChildren(...want.map(([label, src]) => el('figure', { class: 'frame' },
        el('img', { src, alt: `${label} of ${d.match_id}`, dataset: { src } }),
        el('figcaption', { class: 'muted small', text: label }))));
    }
    const order = [d.player_a, d.player_b];
    const moves = [...(d.moves || [])].sort((a, b) => (a.turn - b.turn) ||
      (order.indexOf(a.player_id) - order.indexOf(b.player_id)));
    $('#moves tbody').replaceChildren(...moves.map((mv) => el('tr', { dataset: { player: mv.player_id } },
      el('td', { class: 'num', text: mv.turn }),
      el('td', { text: name(mv.player_id) }),
      el('td', { class: 'mono', text: mv.action }))));
    const box = $('#match-detail-result-box');
    box.hidden = d.result == null;
    $('#match-detail-result').textContent = d.result == null ? '' : JSON.stringify(d.result, null, 2);
    if (first) $('#match-detail').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  function clearMedia() {
    const media = $('#match-detail-media');
    for (const img of media.querySelectorAll('img')) img.removeAttribute('src'); // ends a live stream
    media.replaceChildren();
  }

  function closeDetail() {
    clearMedia();
    $('#match-detail').hidden = true;
    S.detailId = null; S.detail = null;
    if (S.pageIds.length) renderMatches();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
