// The Switchyard demo page: a chat box over POST /api/chat (SSE read from fetch, since EventSource cannot POST) or,
// with the switch on, over the WebSocket chat at the same path; the router's decisions; the reachability table of
// GET /api/providers. Credentials live in the input fields only: nothing is written to any storage, cookie or page URL
// (over the WebSocket they travel in the socket URL's query, since browsers cannot set headers on a socket).

const REFRESH_MS = 10_000;
const HISTORY_LIMIT = 20;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const el = {
  messages: $('messages'),
  emptyNote: $('empty-note'),
  form: /** @type {HTMLFormElement} */ ($('ask')),
  question: /** @type {HTMLTextAreaElement} */ ($('question')),
  send: /** @type {HTMLButtonElement} */ ($('send')),
  stop: /** @type {HTMLButtonElement} */ ($('stop')),
  clear: /** @type {HTMLButtonElement} */ ($('clear')),
  status: $('status'),
  provider: /** @type {HTMLSelectElement} */ ($('provider')),
  model: /** @type {HTMLSelectElement} */ ($('model')),
  agent: /** @type {HTMLSelectElement} */ ($('agent')),
  apiKey: /** @type {HTMLInputElement} */ ($('api-key')),
  baseUrl: /** @type {HTMLInputElement} */ ($('base-url')),
  appToken: /** @type {HTMLInputElement} */ ($('app-token')),
  useSocket: /** @type {HTMLInputElement} */ ($('use-socket')),
  socketState: $('socket-state'),
  forget: $('forget'),
  servedBy: $('served-by'),
  attempts: $('attempts'),
  fallbackReason: $('fallback-reason'),
  route: $('route'),
  requestId: $('request-id'),
  cost: $('cost'),
  attemptList: $('attempt-list'),
  serverLine: $('server-line'),
  cluster: $('cluster'),
  reachUpdated: $('reach-updated'),
  refresh: /** @type {HTMLButtonElement} */ ($('refresh')),
  table: /** @type {HTMLTableElement} */ ($('providers-table')),
};

const state = {
  /** @type {any[]} */ providers: [],
  /** @type {string[]} */ defaultProviders: [],
  /** @type {{role: 'user'|'assistant', content: string}[]} */ history: [],
  /** @type {{ stop(): void } | null} */ controller: null,
  /** @type {{ url: string, ws: WebSocket, ready: Promise<void>, listener: ((event: any) => void) | null, onClose: ((close: CloseEvent) => void) | null } | null} */ socket: null,
  refreshing: false,
};

// ---------- small helpers ----------

/** Creates an element with a class and text. */
function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A readable rendering of any JSON value; `—` for nothing. */
function formatValue(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.length ? value.map(formatValue).join(', ') : '—';
  if (typeof value === 'object') {
    const parts = Object.entries(value).map(([k, v]) => `${LABELS[k] ?? k} ${formatValue(v)}`);
    return parts.length ? parts.join(' · ') : '—';
  }
  return String(value);
}

const LABELS = { openedAt: 'opened', retryAt: 'retry at', checkedAt: 'at' };

/** `key value` pairs of an object, leaving out what is null, undefined or empty; ISO times shown as local times. */
function compact(object) {
  return Object.entries(object)
    .filter(([, v]) => v !== null && v !== undefined && v !== '' && !(typeof v === 'object' && Object.keys(v).length === 0))
    .map(([k, v]) => `${LABELS[k] ?? k} ${typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? formatTime(v) : formatValue(v)}`)
    .join(' · ');
}

function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString();
}

function setStatus(text) {
  el.status.textContent = text;
}

/** The headers every call carries: the caller's provider, key, relay and app token, when given. */
function callerHeaders({ withProvider }) {
  /** @type {Record<string, string>} */
  const headers = {};
  const provider = el.provider.value;
  const key = el.apiKey.value.trim();
  const baseUrl = el.baseUrl.value.trim();
  const token = el.appToken.value.trim();
  if (withProvider && provider) headers['X-LLM-Provider'] = provider;
  if (withProvider && key) headers['X-LLM-Api-Key'] = key;
  if (withProvider && baseUrl) headers['X-LLM-Base-Url'] = baseUrl;
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

/** Turns a non-stream answer (the /api/chat 400 envelope, OpenAI's envelope, anything else) into {code, message, hint}. */
function errorFromBody(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.success === false) {
      return { code: body.error?.code ?? String(body.code), number: body.code, message: body.message ?? body.msg ?? `HTTP ${status}`, hint: body.error?.hint };
    }
    if (body && typeof body.error === 'object' && body.error) {
      return { code: body.error.code ?? body.error.type ?? `http_${status}`, message: body.error.message ?? `HTTP ${status}`, hint: body.error.hint ?? body.hint };
    }
  } catch {
    // Not JSON: shown as text below.
  }
  return { code: `http_${status}`, message: text.trim().slice(0, 300) || `The server answered HTTP ${status} with no body.`, hint: 'check the server log' };
}

// ---------- reachability and pickers ----------

function badge(text, kind) {
  return make('span', `badge ${kind}`, text);
}

function reachBadge(value) {
  if (value === true) return badge('yes', 'ok');
  if (value === false) return badge('no', 'bad');
  return badge('unknown', 'unknown');
}

const KNOWN_COLUMNS = ['id', 'label', 'default', 'reachable', 'probe', 'breaker', 'serverKey', 'tiers', 'aliases', 'clusters'];

/** Builds the cells of one provider row; tolerant of missing or null fields, and of fields added later. */
function providerCells(p, extraKeys) {
  const cells = [];
  const name = make('td');
  name.append(make('strong', '', p.id ?? '?'));
  if (p.label && p.label !== p.id) name.append(make('div', 'muted small', p.label));
  if (p.default) name.append(' ', badge('default', 'info'));
  cells.push(name);

  const reach = make('td');
  const r = p.reachable;
  if (r && typeof r === 'object') {
    const policy = make('div', 'small');
    policy.append('policy ', reachBadge(r.policy));
    const probe = make('div', 'small');
    probe.append('probe ', reachBadge(r.probe));
    reach.append(policy, probe);
    for (const [k, v] of Object.entries(r)) if (k !== 'policy' && k !== 'probe') reach.append(make('div', 'small muted', `${k} ${formatValue(v)}`));
  } else {
    reach.append(reachBadge(r));
  }
  cells.push(reach);

  const probe = make('td', 'small');
  if (p.probe && typeof p.probe === 'object') {
    const { status, latencyMs, checkedAt, steps, failedStep, httpStatus, detail, ...rest } = p.probe;
    const line = make('div');
    line.append(badge(formatValue(status), status === 'reachable' ? 'ok' : status ? 'bad' : 'unknown'));
    if (typeof latencyMs === 'number') line.append(' ', make('span', 'muted', `${Math.round(latencyMs)} ms`));
    probe.append(line);
    if (checkedAt) probe.append(make('div', 'muted', `at ${formatTime(checkedAt)}`));
    if (failedStep) probe.append(make('div', 'muted', `failed at ${failedStep}`));
    if (httpStatus !== null && httpStatus !== undefined) probe.append(make('div', 'muted', `HTTP ${httpStatus}`));
    if (detail) probe.append(make('div', 'muted', String(detail)));
    if (steps && typeof steps === 'object' && Object.keys(steps).length) probe.append(make('div', 'muted', `${compact(steps)} ms`));
    const more = compact(rest);
    if (more) probe.append(make('div', 'muted', more));
  } else {
    probe.append(make('span', 'muted', p.probe === undefined || p.probe === null ? 'not probed' : formatValue(p.probe)));
  }
  cells.push(probe);

  const breaker = make('td', 'small');
  if (p.breaker && typeof p.breaker === 'object' && 'state' in p.breaker) {
    const { state: breakerState, consecutiveFailures, ...rest } = p.breaker;
    breaker.append(badge(String(breakerState), breakerState === 'closed' ? 'ok' : breakerState === 'open' ? 'bad' : 'unknown'));
    if (typeof consecutiveFailures === 'number' && consecutiveFailures > 0) breaker.append(make('div', 'muted', `${consecutiveFailures} failures in a row`));
    const more = compact(rest);
    if (more) breaker.append(make('div', 'muted', more));
  } else {
    breaker.append(make('span', p.breaker ? '' : 'muted', formatValue(p.breaker)));
  }
  cells.push(breaker);

  cells.push(make('td', 'small', p.serverKey === undefined ? '—' : p.serverKey ? 'configured' : 'none'));

  const tiers = make('td', 'small');
  const tierNames = Object.keys(p.tiers ?? {});
  const aliasNames = Object.keys(p.aliases ?? {});
  tiers.append(make('div', '', tierNames.join(', ') || '—'));
  if (aliasNames.length) tiers.append(make('div', 'muted', `aliases: ${aliasNames.join(', ')}`));
  cells.push(tiers);

  for (const key of extraKeys) cells.push(make('td', 'small', formatValue(p[key])));
  return cells;
}

function renderTable(providers) {
  const extraKeys = [...new Set(providers.flatMap((p) => Object.keys(p)))].filter((k) => !KNOWN_COLUMNS.includes(k));
  const head = make('tr');
  for (const title of ['Provider', 'Reachable', 'Probe', 'Breaker', 'Server key', 'Tiers', ...extraKeys]) {
    const th = make('th', '', title);
    th.scope = 'col';
    head.append(th);
  }
  el.table.tHead?.replaceChildren(head);
  const rows = providers.map((p) => {
    const row = make('tr');
    row.dataset.provider = p.id;
    if (p.reachable && p.reachable.policy === false) row.classList.add('dim');
    row.append(...providerCells(p, extraKeys));
    return row;
  });
  el.table.tBodies[0]?.replaceChildren(...rows);
}

function renderTableError(error) {
  const cell = make('td', 'error-cell');
  cell.colSpan = 6;
  cell.append(errorBox(error));
  const row = make('tr');
  row.append(cell);
  el.table.tBodies[0]?.replaceChildren(row);
}

function fillProviderPicker() {
  const current = el.provider.value;
  const options = [new Option('(server default)', '')];
  for (const p of state.providers) {
    const unreachable = p.reachable && p.reachable.policy === false ? ' (not reachable here)' : '';
    options.push(new Option(`${p.id}${p.label && p.label !== p.id ? ` — ${p.label}` : ''}${unreachable}`, p.id));
  }
  el.provider.replaceChildren(...options);
  el.provider.value = state.providers.some((p) => p.id === current) ? current : '';
  fillModelPicker();
}

/** Tiers and aliases of the chosen provider (or of the server's default provider). */
function fillModelPicker() {
  const current = el.model.value;
  const id = el.provider.value || state.defaultProviders[0];
  const provider = state.providers.find((p) => p.id === id);
  const children = [new Option('(agent default)', '')];
  if (provider) {
    const tiers = make('optgroup');
    tiers.label = `Tiers of ${provider.id}`;
    for (const [tier, models] of Object.entries(provider.tiers ?? {})) {
      tiers.append(new Option(`${tier} → ${formatValue(models)}`, tier));
    }
    if (tiers.children.length) children.push(tiers);
    const aliases = make('optgroup');
    aliases.label = 'Aliases';
    for (const [alias, target] of Object.entries(provider.aliases ?? {})) aliases.append(new Option(`${alias} → ${target}`, alias));
    if (aliases.children.length) children.push(aliases);
  }
  el.model.replaceChildren(...children);
  const values = [...el.model.querySelectorAll('option')].map((o) => o.value);
  el.model.value = values.includes(current) ? current : '';
}

async function refreshProviders() {
  if (state.refreshing) return;
  state.refreshing = true;
  el.refresh.disabled = true;
  try {
    const response = await fetch('/api/providers', { headers: callerHeaders({ withProvider: false }), cache: 'no-store' });
    const text = await response.text();
    if (!response.ok) throw errorFromBody(response.status, text);
    const body = JSON.parse(text);
    state.providers = Array.isArray(body.providers) ? body.providers : [];
    state.defaultProviders = Array.isArray(body.defaultProviders) ? body.defaultProviders : [];
    el.cluster.textContent = body.cluster ? `· cluster ${body.cluster}` : '';
    renderTable(state.providers);
    fillProviderPicker();
    el.reachUpdated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    renderTableError(toShownError(error));
    el.reachUpdated.textContent = `failed at ${new Date().toLocaleTimeString()}`;
  } finally {
    state.refreshing = false;
    el.refresh.disabled = false;
  }
}

// ---------- conversation ----------

/** An error as the page shows it: code, message, hint. */
function toShownError(error) {
  if (error && typeof error === 'object' && 'code' in error) return error;
  if (error instanceof TypeError) {
    return { code: 'network_error', message: error.message, hint: 'the request could not be sent: check the server is up and the header fields hold plain text' };
  }
  return { code: 'client_error', message: String(error?.message ?? error), hint: 'reload the page and try again' };
}

function errorBox(error) {
  const box = make('div', 'error');
  box.setAttribute('role', 'alert');
  const head = make('div', 'error-head');
  head.append(make('code', 'error-code', error.code ?? 'error'));
  if (error.number !== undefined) head.append(make('span', 'muted small', ` (${error.number})`));
  box.append(head, make('div', 'error-message', error.message || 'No message.'));
  if (error.hint) {
    const hint = make('div', 'error-hint');
    hint.append(make('span', 'muted', 'Hint: '), make('span', 'hint-text', error.hint));
    box.append(hint);
  }
  return box;
}

function addUserMessage(question) {
  el.emptyNote.hidden = true;
  const item = make('li', 'message user');
  item.append(make('div', 'who', 'You'), make('div', 'text', question));
  el.messages.append(item);
}

/** The assistant's turn: thinking apart from the reply, then errors and a footer. */
function addAssistantMessage() {
  const item = make('li', 'message assistant busy');
  const thinking = make('details', 'thinking');
  thinking.open = true;
  thinking.hidden = true;
  thinking.append(make('summary', '', 'Thinking'));
  const thinkingText = make('div', 'thinking-text');
  thinking.append(thinkingText);
  const reply = make('div', 'text reply');
  const extra = make('div', 'extra');
  const footer = make('div', 'footer muted small');
  item.append(make('div', 'who', 'Assistant'), thinking, reply, extra, footer);
  el.messages.append(item);
  return { item, thinking, thinkingText, reply, extra, footer };
}

function scrollToEnd() {
  el.messages.scrollTop = el.messages.scrollHeight;
}

function resetRouterFacts() {
  for (const node of [el.servedBy, el.attempts, el.fallbackReason, el.route, el.requestId, el.cost]) node.textContent = '—';
  el.attemptList.replaceChildren();
}

function showHeaders(response) {
  el.servedBy.textContent = response.headers.get('x-llm-served-by') ?? '—';
  el.attempts.textContent = response.headers.get('x-llm-attempts') ?? '—';
  el.fallbackReason.textContent = response.headers.get('x-llm-fallback-reason') ?? '—';
}

/** The `route` event's content; over the socket (no headers) it also fills what the routing headers say. */
function showRoute(route, fromSocket) {
  el.route.textContent = `${route.provider ?? '?'}/${route.model ?? '?'} · cluster ${route.cluster ?? '?'}`;
  const attempts = Array.isArray(route.attempts) ? route.attempts : [];
  el.attemptList.replaceChildren(
    ...attempts.map((a, i) => {
      const li = make('li', a.status === 'ok' ? 'ok' : 'failed');
      li.textContent = `${i + 1}. ${a.provider ?? '?'}/${a.model ?? '?'} — ${a.status ?? '?'}${a.code ? ` (${a.code})` : ''}`;
      return li;
    }),
  );
  if (fromSocket) {
    const served = attempts.find((a) => a.status === 'ok');
    el.servedBy.textContent = served ? `${served.provider}/${served.model}` : '—';
    el.attempts.textContent = String(attempts.length);
    el.fallbackReason.textContent = route.fallbackReason ?? '—';
  }
}

function showCost(cost) {
  const total = typeof cost.total_cost === 'number' ? `$${cost.total_cost.toFixed(6)}` : 'cost unknown';
  el.cost.textContent = `${cost.input_tokens ?? '?'} in + ${cost.output_tokens ?? '?'} out = ${cost.total_tokens ?? '?'} tokens · ${total}`;
}

/** Reads `data:` events from an SSE body as they arrive. */
async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, '\n');
    let split;
    while ((split = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue;
      yield parseEvent(data);
    }
  }
}

/** One event's JSON (an SSE `data:` payload or a socket frame). */
function parseEvent(data) {
  try {
    return JSON.parse(data);
  } catch {
    return { type: 'error', code: 'bad_event', content: `An event was not JSON: ${data.slice(0, 120)}`, hint: 'the server or a proxy in between changed the stream' };
  }
}

function setBusy(busy) {
  el.send.disabled = busy;
  el.stop.disabled = !busy;
  document.body.classList.toggle('busy', busy);
}

/**
 * Applies one `/api/chat` event to the turn, by the platform's rules: `{type, content}`; a truthy `error` key is a
 * failure; unknown types are dropped; `reply` and `thinking` are concatenated. Returns true at `end`.
 */
function applyEvent(turn, event, fromSocket) {
  if (!event || typeof event !== 'object') return false;
  if (event.error) {
    turn.fail({ code: typeof event.error === 'object' ? (event.error.code ?? 'error') : 'error', message: String(event.content ?? event.error), hint: event.hint });
    return false;
  }
  switch (event.type) {
    case 'id':
      el.requestId.textContent = event.content || '—';
      break;
    case 'route':
      if (event.content && typeof event.content === 'object') showRoute(event.content, fromSocket);
      break;
    case 'thinking':
      turn.thinking.hidden = false;
      turn.thinkingText.textContent += event.content ?? '';
      break;
    case 'reply':
      turn.replyText += event.content ?? '';
      turn.reply.textContent = turn.replyText;
      break;
    case 'costStatistics':
      if (event.content && typeof event.content === 'object') showCost(event.content);
      break;
    case 'heartbeat':
      setStatus('Streaming… (waiting on the provider)');
      break;
    case 'error':
      turn.fail({ code: event.code ?? 'error', message: event.content, hint: event.hint });
      break;
    case 'end':
      turn.ended = true;
      turn.footer.textContent = `finish: ${event.finish_reason ?? '?'}`;
      return true;
    default:
      break;
  }
  return false;
}

/** The WebSocket URL: the app token and the caller's credentials ride in the query (a socket has no headers). */
function socketUrl() {
  const url = new URL('/api/chat', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const provider = el.provider.value;
  const key = el.apiKey.value.trim();
  const baseUrl = el.baseUrl.value.trim();
  const token = el.appToken.value.trim();
  if (provider) url.searchParams.set('llm_provider', provider);
  if (key) url.searchParams.set('llm_api_key', key);
  if (baseUrl) url.searchParams.set('llm_base_url', baseUrl);
  if (token) url.searchParams.set('token', token);
  return url.href;
}

function showSocketState(text) {
  el.socketState.textContent = text;
}

/** The open socket for the current credentials: reused across turns, replaced when they change. */
function openSocket() {
  const url = socketUrl();
  const current = state.socket;
  if (current && current.url === url && current.ws.readyState <= WebSocket.OPEN) return current;
  if (current) current.ws.close(1000, 'credentials changed');
  const ws = new WebSocket(url);
  /** @type {NonNullable<typeof state.socket>} */
  const socket = {
    url,
    ws,
    listener: null,
    onClose: null,
    ready: new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('close', (close) => reject(close), { once: true });
    }),
  };
  // A rejected `ready` is read by the turn that waits on it; this keeps it from being reported as unhandled.
  socket.ready.catch(() => {});
  ws.addEventListener('open', () => showSocketState('open'));
  ws.addEventListener('message', (message) => socket.listener?.(parseEvent(String(message.data))));
  ws.addEventListener('close', (close) => {
    showSocketState(el.useSocket.checked ? `closed (${close.code}${close.reason ? ` ${close.reason}` : ''})` : 'off');
    if (state.socket === socket) state.socket = null;
    socket.onClose?.(close);
  });
  showSocketState('connecting…');
  state.socket = socket;
  return socket;
}

/** Why a socket closed, as the page shows it. */
function closeError(close) {
  if (close.code === 1008) return { code: 'unauthorized', message: close.reason || 'The server refused the socket (1008).', hint: 'check the app token, or open the page from the server itself' };
  if (close.code === 1009) return { code: 'payload_too_large', message: close.reason || 'The turn was larger than the server accepts (1009).', hint: 'send less' };
  return { code: 'stream_incomplete', message: `The socket closed before the end event (${close.code}${close.reason ? ` ${close.reason}` : ''}).`, hint: 'the server or a proxy cut the connection; retry' };
}

/** One turn over POST /api/chat: the events are the SSE body. */
async function turnOverHttp(turn, body) {
  const controller = new AbortController();
  state.controller = { stop: () => controller.abort() };
  try {
    const response = await fetch('/api/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...callerHeaders({ withProvider: true }) },
      body: JSON.stringify(body),
      signal: controller.signal,
      cache: 'no-store',
    });
    showHeaders(response);
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !type.includes('text/event-stream') || !response.body) {
      turn.fail(errorFromBody(response.status, await response.text()));
      return;
    }
    setStatus('Streaming…');
    for await (const event of readEvents(response.body)) {
      applyEvent(turn, event, false);
      scrollToEnd();
    }
    if (!turn.ended && !turn.failed) turn.fail({ code: 'stream_incomplete', message: 'The connection closed before the end event.', hint: 'the server or a proxy cut the stream; retry' });
  } catch (error) {
    if (controller.signal.aborted) turn.stopped = true;
    else turn.fail(toShownError(error));
  }
}

/** One turn over the WebSocket: a text frame out, one frame per event back, until `end`. Stop sends a cancel frame. */
async function turnOverSocket(turn, body) {
  const socket = openSocket();
  state.controller = {
    stop: () => {
      turn.stopped = true;
      if (socket.ws.readyState === WebSocket.OPEN) socket.ws.send(JSON.stringify({ type: 'cancel' }));
    },
  };
  try {
    await socket.ready;
  } catch (close) {
    turn.fail(closeError(close));
    return;
  }
  setStatus('Streaming…');
  await new Promise((resolve) => {
    socket.listener = (event) => {
      const done = applyEvent(turn, event, true);
      scrollToEnd();
      if (done) resolve(undefined);
    };
    socket.onClose = (close) => {
      if (!turn.ended && !turn.failed) turn.fail(closeError(close));
      resolve(undefined);
    };
    socket.ws.send(JSON.stringify(body));
  });
  socket.listener = null;
  socket.onClose = null;
}

async function ask(question) {
  addUserMessage(question);
  const view = addAssistantMessage();
  resetRouterFacts();
  setBusy(true);
  setStatus('Sending…');
  const turn = {
    ...view,
    replyText: '',
    ended: false,
    failed: false,
    stopped: false,
    fail(error) {
      turn.failed = true;
      turn.extra.append(errorBox(error));
    },
  };
  try {
    const body = { question, agent: el.agent.value || undefined, provider: el.model.value || undefined, messages: state.history.slice(-HISTORY_LIMIT) };
    if (el.useSocket.checked) await turnOverSocket(turn, body);
    else await turnOverHttp(turn, body);
  } catch (error) {
    turn.fail(toShownError(error));
  } finally {
    if (turn.stopped) turn.footer.textContent = 'stopped';
    turn.item.classList.remove('busy');
    if (!turn.replyText && !turn.failed) turn.reply.append(make('span', 'muted', '(no reply text)'));
    if (turn.replyText && !turn.failed && !turn.stopped && turn.ended) state.history.push({ role: 'user', content: question }, { role: 'assistant', content: turn.replyText });
    state.controller = null;
    setBusy(false);
    setStatus(turn.failed ? 'Failed: see the error above.' : turn.stopped ? 'Stopped.' : 'Done.');
    scrollToEnd();
  }
}

// ---------- wiring ----------

el.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const question = el.question.value.trim();
  if (!question) {
    setStatus('Type a question first.');
    el.question.focus();
    return;
  }
  if (state.controller) return;
  el.question.value = '';
  void ask(question);
});

el.question.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    el.form.requestSubmit();
  }
});

el.stop.addEventListener('click', () => state.controller?.stop());

el.useSocket.addEventListener('change', () => {
  if (!el.useSocket.checked && state.socket) state.socket.ws.close(1000, 'switched to HTTP');
  showSocketState(el.useSocket.checked ? 'opens with the next question' : 'off');
});

el.clear.addEventListener('click', () => {
  state.history = [];
  el.messages.replaceChildren(el.emptyNote);
  el.emptyNote.hidden = false;
  resetRouterFacts();
  setStatus('Ready.');
});

el.forget.addEventListener('click', () => {
  el.apiKey.value = '';
  el.baseUrl.value = '';
  el.appToken.value = '';
  // The socket's URL holds the credentials: close it too.
  state.socket?.ws.close(1000, 'credentials cleared');
  setStatus('Credentials cleared from the page.');
});

el.provider.addEventListener('change', fillModelPicker);
el.appToken.addEventListener('change', () => void refreshProviders());
el.refresh.addEventListener('click', () => void refreshProviders());

async function showServer() {
  try {
    const response = await fetch('/healthz', { cache: 'no-store' });
    const body = await response.json();
    if (body?.app) el.serverLine.textContent = `This page is served by the ${body.app === 'koa' ? 'Koa' : 'Express'} app; both share one router.`;
  } catch {
    // The line keeps its default text.
  }
}

void showServer();
void refreshProviders();
setInterval(() => void refreshProviders(), REFRESH_MS);
