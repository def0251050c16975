// The call panel: pick a method, fill its request (a form built from the schema, or raw JSON;
// the two stay in step), add metadata, and call it through the admin listener's /console/call/:
// unary by POST (status, headers, reply); server streams by POST with Accept: text/event-stream,
// read as they arrive (Stop aborts); client and bidi streams over a WebSocket with the
// portico.mux.v1 subprotocol (a chat-like log, a send box, Half-close and Cancel).
import { h, replace, uid, pretty, notice, prose } from './dom.js';
import { buildForm, FormError } from './schema_form.js';
import { readEvents } from './sse.js';

const KIND_LABEL = {
  unary: 'unary', server: 'server streaming', client: 'client streaming', bidi: 'bidirectional streaming',
};
const METADATA_KEY = /^[0-9a-z_.-]+$/;

export class CallPanel {
  constructor() {
    this.catalog = null;
    this.method = null;
    this.active = null;  // {stop()} of the call in progress
    this.jsonMode = false;
    this.form = null;

    this.methodSelect = h('select', { id: 'call-method', onchange: () => {
      location.hash = `#/call${this.methodSelect.value}`;
    } });
    this.about = h('div', { class: 'method-about' });
    this.formSlot = h('div', { class: 'form-slot' });
    this.jsonArea = h('textarea', { id: uid('json'), class: 'code', rows: 10, spellcheck: 'false',
                                    'aria-label': 'Request message as JSON' });
    this.jsonError = h('div', { class: 'json-error', 'aria-live': 'polite' });
    this.jsonBox = h('div', { class: 'json-box', hidden: true }, this.jsonArea, this.jsonError);
    this.modeButton = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false',
                                    onclick: () => this.toggleMode() }, 'Edit as JSON');
    this.jsonArea.addEventListener('input', () => this.jsonChanged());
    this.formSlot.addEventListener('input', () => this.formChanged());
    this.formSlot.addEventListener('change', () => this.formChanged());

    this.metaRows = h('ol', { class: 'rows' });
    this.metaAdd = h('button', { type: 'button', class: 'small', onclick: () => {
      const row = this.addMetadata();
      row.querySelector('input').focus();
    } }, 'Add metadata');

    this.callButton = h('button', { type: 'submit', id: 'call-send' }, 'Call');
    this.stopButton = h('button', { type: 'button', class: 'secondary', hidden: true,
                                    onclick: () => this.stop() }, 'Stop');
    this.sendButton = h('button', { type: 'button', hidden: true, onclick: () => this.sendMessage() },
                        'Send message');
    this.halfCloseButton = h('button', { type: 'button', class: 'secondary', hidden: true,
                                         onclick: () => this.halfClose() }, 'Half-close');
    this.cancelButton = h('button', { type: 'button', class: 'danger', hidden: true,
                                      onclick: () => this.stop() }, 'Cancel');

    this.status = h('div', { class: 'call-status', role: 'status', 'aria-live': 'polite' },
                    h('p', { class: 'hint' }, 'No call yet.'));
    this.headers = h('div', { class: 'call-headers' });
    this.reply = h('pre', { class: 'code reply', tabindex: '0', hidden: true, 'aria-label': 'Reply' });
    this.log = h('ol', { class: 'stream-log', hidden: true, 'aria-label': 'Messages', 'aria-live': 'polite' });

    const form = h('form', { class: 'call-form', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      this.start();
    } },
    h('div', { class: 'field' }, h('label', { for: 'call-method' }, 'Method'), this.methodSelect),
    this.about,
    h('fieldset', { class: 'group request' },
      h('legend', {}, 'Request message'),
      h('div', { class: 'toolbar' }, this.modeButton),
      this.formSlot, this.jsonBox),
    h('fieldset', { class: 'group' },
      h('legend', {}, 'Metadata'),
      h('p', { class: 'hint' }, 'Sent as Grpc-Metadata-<key> headers (authorization as Authorization).'),
      this.metaRows, this.metaAdd),
    h('div', { class: 'actions' }, this.callButton, this.stopButton, this.sendButton,
      this.halfCloseButton, this.cancelButton));

    this.element = h('section', { class: 'view call-panel', 'aria-labelledby': 'call-heading' },
      h('h2', { id: 'call-heading', tabindex: '-1' }, 'Call a method'),
      h('div', { class: 'call-grid' },
        h('div', { class: 'call-input' }, form),
        h('div', { class: 'call-output', 'aria-label': 'Result' },
          h('h3', {}, 'Result'), this.status, this.headers, this.reply, this.log)));
  }

  setCatalog(catalog) {
    this.catalog = catalog;
    const groups = catalog.services.map((s) => h('optgroup', { label: s.name },
      s.methods.map((m) => h('option', { value: m.path }, `${m.name} (${KIND_LABEL[m.kind] || m.kind})`))));
    replace(this.methodSelect, h('option', { value: '' }, 'Choose a method…'), groups);
    if (this.method) this.methodSelect.value = this.method.path;
  }

  // path: "/pkg.Svc/Method" (or "" for none).
  select(path) {
    if (!this.catalog) return;
    const m = this.catalog.methods.get(path) || null;
    if (m === this.method && this.form) return;
    this.stop();
    this.method = m;
    this.methodSelect.value = m ? m.path : '';
    replace(this.status, h('p', { class: 'hint' }, 'No call yet.'));
    replace(this.headers);
    this.reply.hidden = true;
    this.log.hidden = true;
    replace(this.log);
    if (!m) {
      replace(this.about, h('p', { class: 'hint' }, 'Pick a method to build its request.'));
      replace(this.formSlot);
      this.form = null;
      this.updateButtons();
      return;
    }
    const routes = m.routes.map((r) => `${r.httpMethod} ${r.path}`).join(', ');
    replace(this.about,
      h('p', {}, h('strong', {}, m.path), ' — ', KIND_LABEL[m.kind] || m.kind,
        m.backend ? `, backend ${m.backend}` : ''),
      m.summary || m.description ? h('p', { class: 'description' }, prose(m.description || m.summary)) : null,
      h('p', { class: 'hint' }, `${m.request || '?'} → ${m.response || '?'}; routes: ${routes || 'none'}`));
    if (m.request && this.catalog.schemas[m.request]) {
      this.form = buildForm(this.catalog.schemas, m.request);
      replace(this.formSlot, this.form.element);
      this.modeButton.disabled = false;
      this.setMode(false);
    } else {
      this.form = null;
      replace(this.formSlot, h('p', { class: 'hint' },
        'No schema for this request (is /admin/openapi.json available?): edit it as JSON.'));
      this.jsonArea.value = '{}';
      this.setMode(true);
      this.modeButton.disabled = true;
    }
    this.updateButtons();
  }

  setMode(json) {
    this.jsonMode = json;
    this.jsonBox.hidden = !json;
    this.formSlot.hidden = json && this.form !== null;
    this.modeButton.textContent = json ? 'Edit as form' : 'Edit as JSON';
    this.modeButton.setAttribute('aria-pressed', json ? 'true' : 'false');
  }

  toggleMode() {
    if (!this.form) return;
    if (!this.jsonMode) {
      try {
        this.jsonArea.value = pretty(this.form.get());
      } catch (e) {
        replace(this.jsonError, notice('error', e.message));
        return;
      }
      this.setMode(true);
      this.jsonArea.focus();
    } else {
      if (!this.jsonChanged()) return;  // stay on JSON until it parses
      this.setMode(false);
    }
  }

  // Keeps the form in step with the JSON text; false when the text does not parse.
  jsonChanged() {
    let value;
    try {
      value = JSON.parse(this.jsonArea.value || '{}');
    } catch (e) {
      replace(this.jsonError, notice('error', `Not valid JSON: ${e.message}`));
      this.jsonArea.setAttribute('aria-invalid', 'true');
      return false;
    }
    replace(this.jsonError);
    this.jsonArea.removeAttribute('aria-invalid');
    if (this.form) this.form.set(value);
    return true;
  }

  formChanged() {
    if (!this.form || this.jsonMode) return;
    try {
      this.jsonArea.value = pretty(this.form.get());
      replace(this.jsonError);
    } catch {
      // shown when sent
    }
  }

  requestValue() {
    if (this.jsonMode || !this.form) return JSON.parse(this.jsonArea.value || '{}');
    return this.form.get();
  }

  addMetadata(key = '', value = '') {
    const k = h('input', { type: 'text', id: uid('f'), value: key, autocomplete: 'off', spellcheck: 'false' });
    const v = h('input', { type: 'text', id: uid('f'), value, autocomplete: 'off', spellcheck: 'false' });
    const row = h('li', { class: 'row meta-row' },
      h('div', { class: 'field' }, h('label', { for: k.id }, 'Key'), k),
      h('div', { class: 'field' }, h('label', { for: v.id }, 'Value'), v),
      h('button', { type: 'button', class: 'small secondary', 'aria-label': 'Remove metadata row',
                    onclick: () => row.remove() }, 'Remove'));
    this.metaRows.append(row);
    return row;
  }

  metadata() {
    const out = {};
    for (const row of this.metaRows.children) {
      const [k, v] = row.querySelectorAll('input');
      const key = k.value.trim().toLowerCase();
      if (!key) continue;
      if (!METADATA_KEY.test(key)) throw new FormError(`metadata key "${key}" may hold only a-z, 0-9, "-", "_" and "."`);
      out[key] = v.value;
    }
    return out;
  }

  updateButtons() {
    const kind = this.method ? this.method.kind : 'unary';
    const running = this.active !== null;
    const socket = kind === 'client' || kind === 'bidi';
    this.callButton.hidden = running;
    this.callButton.disabled = !this.method;
    this.callButton.textContent = socket ? 'Open stream' : kind === 'server' ? 'Start stream' : 'Call';
    this.stopButton.hidden = !(running && kind === 'server');
    this.sendButton.hidden = !(running && socket);
    this.halfCloseButton.hidden = !(running && socket);
    this.cancelButton.hidden = !(running && socket);
  }

  showStatus(kind, text) {
    replace(this.status, notice(kind, text));
  }

  showHeaders(title, entries) {
    if (!entries.length) {
      replace(this.headers);
      return;
    }
    replace(this.headers, h('details', { class: 'headers' },
      h('summary', {}, `${title} (${entries.length})`),
      h('dl', {}, entries.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))));
  }

  logEntry(direction, text) {
    const label = { sent: 'Sent', received: 'Received', info: 'Info', error: 'Error' }[direction];
    const entry = h('li', { class: `log-${direction}` },
      h('span', { class: 'log-label' }, label), h('pre', { class: 'code' }, text));
    this.log.append(entry);
    this.log.scrollTop = this.log.scrollHeight;
    return entry;
  }

  start() {
    if (!this.method || this.active) return;
    let message;
    let metadata;
    try {
      message = this.requestValue();
      metadata = this.metadata();
    } catch (e) {
      this.showStatus('error', e.message);
      return;
    }
    replace(this.headers);
    replace(this.log);
    this.reply.hidden = true;
    this.log.hidden = true;
    const kind = this.method.kind;
    if (kind === 'client' || kind === 'bidi') this.openSocket(metadata, message);
    else this.fetchCall(kind, metadata, message);
  }

  async fetchCall(kind, metadata, message) {
    const controller = new AbortController();
    this.active = { stop: () => controller.abort() };
    this.updateButtons();
    const headers = { 'Content-Type': 'application/json',
                      Accept: kind === 'server' ? 'text/event-stream' : 'application/json' };
    for (const [k, v] of Object.entries(metadata)) {
      if (k === 'authorization') headers.Authorization = v;
      else headers[`Grpc-Metadata-${k}`] = v;
    }
    const target = `/console/call/${this.method.service}/${this.method.name}`;
    this.showStatus('info', kind === 'server' ? 'Stream open…' : 'Calling…');
    const started = performance.now();
    try {
      const response = await fetch(target, { method: 'POST', headers, body: JSON.stringify(message),
                                             credentials: 'same-origin', signal: controller.signal,
                                             cache: 'no-store' });
      this.showHeaders('Response headers', [...response.headers.entries()]);
      const type = response.headers.get('content-type') || '';
      if (kind === 'server' && response.ok && type.startsWith('text/event-stream')) {
        this.log.hidden = false;
        let count = 0;
        let ended = false;
        await readEvents(response.body, ({ event, data }) => {
          if (event === 'end') {
            ended = true;
            this.showStatus('ok', `Stream ended OK after ${count} message(s).`);
            return;
          }
          if (event === 'error') {
            ended = true;
            let status = data;
            try { status = JSON.parse(data); } catch { /* raw text */ }
            this.logEntry('error', typeof status === 'string' ? status : pretty(status));
            this.showStatus('error', `Stream failed: ${statusText(status)}`);
            return;
          }
          count += 1;
          let shown = data;
          try { shown = JSON.stringify(JSON.parse(data)); } catch { /* raw text */ }
          this.logEntry('received', shown);
          this.showStatus('info', `Streaming: ${count} message(s) so far…`);
        });
        if (!ended) this.showStatus('error', `Stream closed without an end event after ${count} message(s).`);
        return;
      }
      const text = await response.text();
      let body = text;
      try { body = JSON.parse(text); } catch { /* not JSON */ }
      const ms = Math.round(performance.now() - started);
      this.reply.hidden = false;
      this.reply.textContent = typeof body === 'string' ? body : pretty(body);
      if (response.ok) {
        this.showStatus('ok', `HTTP ${response.status} in ${ms} ms`);
      } else {
        this.showStatus('error', `HTTP ${response.status}: ${statusText(body)}`);
      }
    } catch (e) {
      if (e.name === 'AbortError') this.showStatus('info', 'Stopped.');
      else this.showStatus('error', `Request failed: ${e.message}`);
    } finally {
      this.active = null;
      this.updateButtons();
    }
  }

  openSocket(metadata, firstMessage) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/console/call/`, 'portico.mux.v1');
    const id = 1;
    let finished = false;
    const finish = (kind, text) => {
      if (finished) return;
      finished = true;
      this.showStatus(kind, text);
      this.active = null;
      this.updateButtons();
      if (socket.readyState <= 1) socket.close(1000);
    };
    this.active = {
      socket,
      send: (message) => {
        socket.send(JSON.stringify({ id, message }));
        this.logEntry('sent', JSON.stringify(message));
      },
      halfClose: () => {
        socket.send(JSON.stringify({ id, end: true }));
        this.logEntry('info', 'Half-closed: no more messages from this side.');
        this.sendButton.disabled = true;
        this.halfCloseButton.disabled = true;
      },
      stop: () => {
        if (socket.readyState === 1) socket.send(JSON.stringify({ id, cancel: true }));
        this.logEntry('info', 'Cancelled.');
        finish('info', 'Cancelled.');
      },
    };
    this.sendButton.disabled = true;
    this.halfCloseButton.disabled = true;
    this.updateButtons();
    this.log.hidden = false;
    this.showStatus('info', 'Connecting…');
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ id, method: this.method.path, metadata }));
      this.logEntry('info', `Opened ${this.method.path}`);
      this.sendButton.disabled = false;
      this.halfCloseButton.disabled = false;
      this.showStatus('info', 'Stream open: send messages with "Send message".');
      this.active.send(firstMessage);
      this.sendButton.focus();
    });
    socket.addEventListener('message', (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        this.logEntry('error', `Unreadable frame: ${event.data}`);
        return;
      }
      if (frame.id !== id) return;
      if (frame.headers) {
        this.showHeaders('Response headers', Object.entries(frame.headers).map(([k, v]) => [k, String(v)]));
      }
      if ('message' in frame) this.logEntry('received', JSON.stringify(frame.message));
      if (frame.status) {
        const ok = frame.status.code === 0 || frame.status.code === undefined;
        this.logEntry(ok ? 'info' : 'error', `Status: ${statusText(frame.status)}`);
        finish(ok ? 'ok' : 'error', ok ? 'Call ended OK.' : `Call failed: ${statusText(frame.status)}`);
      }
    });
    socket.addEventListener('close', (event) => {
      finish(event.code === 1000 ? 'info' : 'error',
             `WebSocket closed (code ${event.code}${event.reason ? `: ${event.reason}` : ''}).`);
    });
    socket.addEventListener('error', () => {
      finish('error', 'WebSocket error (is the session still valid?).');
    });
  }

  sendMessage() {
    if (!this.active || !this.active.send) return;
    try {
      this.active.send(this.requestValue());
    } catch (e) {
      this.showStatus('error', e.message);
    }
  }

  halfClose() {
    if (this.active && this.active.halfClose) this.active.halfClose();
  }

  stop() {
    if (this.active) this.active.stop();
  }
}

function statusText(status) {
  if (status && typeof status === 'object') {
    const code = status.code !== undefined ? `code ${status.code}` : '';
    return [status.message, code].filter(Boolean).join(' — ') || JSON.stringify(status);
  }
  return String(status);
}
