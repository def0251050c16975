// A JSON textarea editor with a name field, Save (PUT) and Delete, and the 400 body's
// validation errors shown next to it. Used for backends, policies and aggregates.
import { h, replace, notice, uid, pretty } from './dom.js';
import { ApiError } from './api.js';

// opts: {kind: 'policy', name, value, creating, onSave(name, value), onDelete(name), onDone()}
export function jsonEditor(opts) {
  const nameInput = h('input', { type: 'text', id: uid('name'), value: opts.name || '', required: true,
                                 autocomplete: 'off', spellcheck: 'false', readOnly: !opts.creating });
  const area = h('textarea', { id: uid('json'), class: 'code', rows: 14, spellcheck: 'false' });
  area.value = pretty(opts.value || {});
  const errorsId = uid('errors');
  const errors = h('div', { id: errorsId, class: 'editor-errors', 'aria-live': 'polite' });
  area.setAttribute('aria-describedby', errorsId);
  const save = h('button', { type: 'submit' }, opts.creating ? `Create ${opts.kind}` : `Save ${opts.kind}`);
  const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => opts.onDone() }, 'Close');
  const remove = opts.creating ? null : h('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!window.confirm(`Delete ${opts.kind} "${nameInput.value}"?`)) return;
    try {
      await opts.onDelete(nameInput.value);
      opts.onDone();
    } catch (e) {
      showErrors(e);
    }
  } }, `Delete ${opts.kind}`);
  const showErrors = (e) => {
    const list = e instanceof ApiError && e.errors.length ? e.errors : [e.message];
    area.setAttribute('aria-invalid', 'true');
    replace(errors, notice('error', `Not saved${e.status ? ` (HTTP ${e.status})` : ''}:`),
            h('ul', { class: 'error-list' }, list.map((t) => h('li', {}, t))));
  };
  const form = h('form', { class: 'editor card', onsubmit: async (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      replace(errors, notice('error', 'A name is needed.'));
      nameInput.focus();
      return;
    }
    let value;
    try {
      value = JSON.parse(area.value);
    } catch (err) {
      area.setAttribute('aria-invalid', 'true');
      replace(errors, notice('error', `Not valid JSON: ${err.message}`));
      return;
    }
    save.disabled = true;
    try {
      await opts.onSave(name, value);
      area.removeAttribute('aria-invalid');
      replace(errors, notice('ok', `Saved ${opts.kind} "${name}".`));
      opts.onSaved && opts.onSaved(name);
    } catch (err) {
      showErrors(err);
    } finally {
      save.disabled = false;
    }
  } },
  h('div', { class: 'field' }, h('label', { for: nameInput.id }, 'Name'), nameInput),
  h('div', { class: 'field' }, h('label', { for: area.id }, `${opts.kind} as JSON`), area),
  errors,
  h('div', { class: 'actions' }, save, remove, cancel));
  return { element: form, focus: () => (opts.creating ? nameInput : area).focus() };
}
