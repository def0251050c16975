// A list of named admin entries (policies, aggregates; backends add their health) with a JSON
// editor to create, edit (PUT) and delete them. Validation errors of a refused PUT (the 400
// body's `errors`) are shown next to the editor.
import { h, replace, notice } from './dom.js';
import { get, put, del } from './api.js';
import { jsonEditor } from './json_editor.js';

// opts: {id, title, kind, path: '/admin/policies', listKey: 'policies', template: {...},
//        readOnlyKeys: ['source', ...], describe(entry) -> Node, refreshMs (0 = none)}
export class EntriesView {
  constructor(opts) {
    this.opts = opts;
    this.list = h('div', { class: 'entries', 'aria-live': 'off' });
    this.editorSlot = h('div', { class: 'editor-slot' });
    this.message = h('div', { 'aria-live': 'polite' });
    this.updated = h('p', { class: 'hint updated' });
    this.timer = null;
    this.editing = null;
    this.element = h('section', { class: 'view', 'aria-labelledby': `${opts.id}-heading` },
      h('h2', { id: `${opts.id}-heading`, tabindex: '-1' }, opts.title),
      h('div', { class: 'toolbar' },
        h('button', { type: 'button', onclick: () => this.edit(null) }, `New ${opts.kind}`),
        h('button', { type: 'button', class: 'secondary', onclick: () => this.refresh() }, 'Refresh'),
        this.updated),
      this.message, this.editorSlot, this.list);
  }

  show() {
    this.refresh();
    if (this.opts.refreshMs && !this.timer) {
      this.timer = setInterval(() => this.refresh(), this.opts.refreshMs);
    }
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async refresh() {
    let answer;
    try {
      answer = await get(this.opts.path);
    } catch (e) {
      replace(this.message, notice('error', `Cannot load ${this.opts.path}: ${e.message}`));
      return;
    }
    replace(this.message);
    this.entries = (answer && answer[this.opts.listKey]) || [];
    this.updated.textContent = `Updated ${new Date().toLocaleTimeString()}` +
      (this.opts.refreshMs ? ` (every ${this.opts.refreshMs / 1000} s)` : '');
    if (this.entries.length === 0) {
      replace(this.list, h('p', {}, `No ${this.opts.kind} entries.`));
      return;
    }
    // The list is rebuilt on every refresh: keep keyboard focus on the same entry's button.
    const active = document.activeElement;
    const focused = active && this.list.contains(active) && active.closest('[data-name]')
      ? active.closest('[data-name]').dataset.name : null;
    replace(this.list, this.entries.map((entry) => h('article',
      { class: 'card entry', 'aria-label': `${this.opts.kind} ${entry.name}`, dataset: { name: entry.name } },
      h('div', { class: 'entry-head' },
        h('h3', {}, entry.name),
        entry.source ? h('span', { class: 'badge' }, `from ${entry.source}`) : null,
        h('button', { type: 'button', class: 'small', 'aria-label': `Edit ${this.opts.kind} ${entry.name}`,
                      onclick: () => this.edit(entry) }, 'Edit')),
      this.opts.describe ? this.opts.describe(entry) : h('pre', { class: 'code' }, summary(entry)))));
    if (focused !== null) {
      const again = [...this.list.querySelectorAll('[data-name]')].find((el) => el.dataset.name === focused);
      if (again) again.querySelector('button').focus();
    }
  }

  clean(entry) {
    const out = {};
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'name' || (this.opts.readOnlyKeys || []).includes(k)) continue;
      out[k] = v;
    }
    return out;
  }

  edit(entry) {
    const creating = entry === null;
    const editor = jsonEditor({
      kind: this.opts.kind,
      name: creating ? '' : entry.name,
      value: creating ? this.opts.template : this.clean(entry),
      creating,
      onSave: (name, value) => put(`${this.opts.path}/${encodeURIComponent(name)}`, value),
      onSaved: () => this.refresh(),
      onDelete: (name) => del(`${this.opts.path}/${encodeURIComponent(name)}`),
      onDone: () => {
        replace(this.editorSlot);
        this.refresh();
      },
    });
    replace(this.editorSlot, editor.element);
    editor.focus();
  }
}

function summary(entry) {
  const rest = { ...entry };
  delete rest.name;
  delete rest.source;
  return JSON.stringify(rest, null, 1).replace(/\n\s*/g, ' ');
}
