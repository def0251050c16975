// Upload .proto files: several at once, sent as {"files": {"name.proto": "<source>", ...}} to
// POST /admin/descriptors (all or nothing). Shows the files and services added, or the
// compiler's errors (file:line:col: message) one per line. Below, the registered files
// (GET /admin/descriptors) with Delete (refused with 409 while another file imports one).
import { h, replace, notice } from './dom.js';
import { get, post, del, ApiError } from './api.js';

export class UploadView {
  constructor(onUploaded) {
    this.onUploaded = onUploaded;
    this.input = h('input', { type: 'file', id: 'upload-files', multiple: true, accept: '.proto,text/plain',
                              'aria-describedby': 'upload-hint' });
    this.result = h('div', { class: 'upload-result', 'aria-live': 'polite' });
    this.button = h('button', { type: 'submit' }, 'Upload');
    this.element = h('section', { class: 'view', 'aria-labelledby': 'upload-heading' },
      h('h2', { id: 'upload-heading', tabindex: '-1' }, 'Upload .proto files'),
      h('form', { class: 'card', onsubmit: (e) => { e.preventDefault(); this.upload(); } },
        h('div', { class: 'field' }, h('label', { for: 'upload-files' }, '.proto files'), this.input,
          h('span', { class: 'hint', id: 'upload-hint' },
            'Pick every file at once (imports of google/protobuf, google/api and google/rpc are built in). ' +
            'A file of the same name is replaced; nothing changes if any file fails to compile.')),
        h('div', { class: 'actions' }, this.button)),
      this.result,
      h('h3', {}, 'Registered files'),
      this.filesMessage = h('div', { 'aria-live': 'polite' }),
      this.files = h('div', { class: 'table-wrap' }));
  }

  show() {
    this.listFiles();
  }

  async listFiles() {
    let answer;
    try {
      answer = await get('/admin/descriptors');
    } catch (e) {
      replace(this.filesMessage, notice('error', `Cannot list the files: ${e.message}`));
      return;
    }
    const files = (answer && answer.files) || [];
    if (files.length === 0) {
      replace(this.files, h('p', {}, 'No files registered.'));
      return;
    }
    replace(this.files, h('table', { class: 'descriptor-files' },
      h('thead', {}, h('tr', {}, ['File', 'Package', 'Services', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, files.map((f) => h('tr', { dataset: { file: f.name } },
        h('th', { scope: 'row' }, h('code', {}, f.name)),
        h('td', {}, f.package || ''),
        h('td', {}, (f.services || []).map((svc, i) => [i ? ', ' : '', h('code', {}, svc)])),
        h('td', {}, h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${f.name}`,
                                  onclick: () => this.remove(f.name) }, 'Delete')))))));
  }

  async remove(name) {
    if (!window.confirm(`Delete ${name}? Its services lose their routes.`)) return;
    try {
      await del(`/admin/descriptors/${encodeURIComponent(name)}`);
      replace(this.filesMessage, notice('ok', `Deleted ${name}.`));
      this.onUploaded();
    } catch (e) {
      replace(this.filesMessage, notice('error', `${name} not deleted (HTTP ${e.status || '?'}): ${e.message}`));
    }
    this.listFiles();
  }

  async upload() {
    const chosen = [...this.input.files];
    if (chosen.length === 0) {
      replace(this.result, notice('error', 'Choose at least one .proto file.'));
      this.input.focus();
      return;
    }
    const files = {};
    for (const f of chosen) files[f.name] = await f.text();
    this.button.disabled = true;
    replace(this.result, notice('info', `Uploading ${chosen.length} file(s)…`));
    try {
      const answer = await post('/admin/descriptors', { files });
      const services = (answer && answer.services) || [];
      replace(this.result,
        notice('ok', `Uploaded ${((answer && answer.files) || []).length || chosen.length} file(s).`),
        h('h3', {}, 'Services'),
        services.length
          ? h('ul', { class: 'upload-services' }, services.map((s) => h('li', {}, h('code', {}, s))))
          : h('p', {}, 'No services in these files.'));
      this.onUploaded();
      this.listFiles();
    } catch (e) {
      const errors = e instanceof ApiError && e.errors.length ? e.errors : [e.message];
      replace(this.result,
        notice('error', `The upload was refused (HTTP ${e.status || '?'}); nothing was registered.`),
        h('ul', { class: 'error-list', 'aria-label': 'Compiler errors' },
          errors.map((text) => h('li', {}, h('code', {}, text)))));
    } finally {
      this.button.disabled = false;
    }
  }
}
