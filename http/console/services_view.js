// Services and methods: each service with its comment, each method with its kind, HTTP routes,
// backend and a link to call it; request and response schemas browsable field by field (a nested
// message opens on demand, so recursive messages are safe).
import { h, replace, notice, prose } from './dom.js';
import { resolve, mainType, refName, typeLabel, nonNullAlternative } from './catalog.js';

const KIND_LABEL = { unary: 'unary', server: 'server stream', client: 'client stream', bidi: 'bidi stream' };

export class ServicesView {
  constructor() {
    this.body = h('div', { class: 'services' });
    this.filter = h('input', { type: 'search', id: 'services-filter', autocomplete: 'off',
                               oninput: () => this.render() });
    this.element = h('section', { class: 'view', 'aria-labelledby': 'services-heading' },
      h('h2', { id: 'services-heading', tabindex: '-1' }, 'Services and methods'),
      h('div', { class: 'field' }, h('label', { for: 'services-filter' }, 'Filter by name'), this.filter),
      this.body);
    this.catalog = null;
  }

  setCatalog(catalog) {
    this.catalog = catalog;
    this.render();
  }

  render() {
    const catalog = this.catalog;
    if (!catalog) return;
    const needle = this.filter.value.trim().toLowerCase();
    const parts = [];
    if (catalog.openapiError) {
      parts.push(notice('warn', `The OpenAPI document is unavailable (${catalog.openapiError}): ` +
                        'showing routes without schemas.'));
    }
    const services = catalog.services.filter((s) => !needle || s.name.toLowerCase().includes(needle) ||
      s.methods.some((m) => m.name.toLowerCase().includes(needle)));
    if (services.length === 0) {
      parts.push(h('p', {}, catalog.services.length ? 'No service matches the filter.'
        : 'No services yet: upload .proto files or configure a backend with reflection.'));
    }
    for (const s of services) {
      parts.push(h('article', { class: 'card service', 'aria-label': `Service ${s.name}` },
        h('h3', {}, s.name),
        s.description ? h('p', { class: 'description' }, prose(s.description)) : null,
        h('ul', { class: 'methods' }, s.methods.map((m) => this.methodItem(m)))));
    }
    replace(this.body, parts);
  }

  methodItem(m) {
    const schemas = this.catalog.schemas;
    return h('li', { class: 'method' },
      h('div', { class: 'method-head' },
        h('span', { class: 'method-name' }, m.name),
        h('span', { class: `badge kind-${m.kind}` }, KIND_LABEL[m.kind] || m.kind),
        m.backend ? h('span', { class: 'badge' }, `backend: ${m.backend}`) : h('span', { class: 'badge warn' }, 'no backend'),
        h('a', { class: 'button small', href: `#/call${m.path}` }, `Call ${m.name}`)),
      m.description || m.summary ? h('p', { class: 'description' }, prose(m.description || m.summary)) : null,
      h('ul', { class: 'routes' }, m.routes.map((r) => h('li', {},
        h('code', {}, `${r.httpMethod} ${r.path}`),
        r.policies && Object.keys(r.policies).length
          ? h('span', { class: 'hint' }, ` policies: ${Object.entries(r.policies).map(([k, v]) => `${k}=${v}`).join(', ')}`)
          : null))),
      h('div', { class: 'messages' },
        m.request ? schemaDetails(schemas, m.request, 'Request') : null,
        m.response ? schemaDetails(schemas, m.response, 'Response') : null));
  }
}

// <details> for one named schema; its table is built when first opened.
export function schemaDetails(schemas, name, prefix) {
  const details = h('details', { class: 'schema' },
    h('summary', {}, prefix ? `${prefix}: ` : '', h('code', {}, name)));
  let built = false;
  details.addEventListener('toggle', () => {
    if (!details.open || built) return;
    built = true;
    details.append(schemaBody(schemas, name));
  });
  return details;
}

function schemaBody(schemas, name) {
  const schema = schemas[name];
  if (!schema) return h('p', { class: 'hint' }, 'No schema in the OpenAPI document.');
  const parts = [];
  if (schema.description) parts.push(h('p', { class: 'description' }, prose(schema.description)));
  if (Array.isArray(schema.enum)) {
    parts.push(h('p', {}, 'Enum values: ', schema.enum.map((v, i) => [i ? ', ' : '', h('code', {}, String(v))])));
    return h('div', { class: 'schema-body' }, parts);
  }
  const props = schema.properties || {};
  const keys = Object.keys(props);
  if (keys.length === 0) {
    parts.push(h('p', { class: 'hint' }, `${typeLabel(schemas, schema)} — no fields.`));
    return h('div', { class: 'schema-body' }, parts);
  }
  const oneofs = schema['x-portico-oneofs'] || {};
  const groupOf = new Map();
  for (const [group, members] of Object.entries(oneofs)) {
    if (Array.isArray(members)) for (const m of members) groupOf.set(m, group);
  }
  parts.push(h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Type'),
                   h('th', { scope: 'col' }, 'Description'))),
    h('tbody', {}, keys.map((k) => {
      const p = props[k] || {};
      const nested = nestedRefs(schemas, p);
      return h('tr', {},
        h('th', { scope: 'row' }, h('code', {}, k), groupOf.has(k) ? h('span', { class: 'hint' }, ` (oneof ${groupOf.get(k)})`) : null),
        h('td', {}, h('code', {}, typeLabel(schemas, p)),
          nested.map((n) => schemaDetails(schemas, n, ''))),
        h('td', {}, prose(p.description) || enumHint(schemas, p) || ''));
    })))));
  return h('div', { class: 'schema-body' }, parts);
}

// Names of the schemas a property refers to (through arrays, maps and nullable wrappers).
function nestedRefs(schemas, p, depth = 0) {
  if (!p || typeof p !== 'object' || depth > 4) return [];
  if (p.$ref) {
    const name = refName(p.$ref);
    return name && schemas[name] ? [name] : [];
  }
  const alt = nonNullAlternative(p);
  if (alt) return nestedRefs(schemas, alt, depth + 1);
  if (mainType(p) === 'array') return nestedRefs(schemas, p.items, depth + 1);
  if (p.additionalProperties && typeof p.additionalProperties === 'object') {
    return nestedRefs(schemas, p.additionalProperties, depth + 1);
  }
  return [];
}

function enumHint(schemas, p) {
  const { schema } = resolve(schemas, p);
  return Array.isArray(schema.enum) ? `one of ${schema.enum.join(', ')}` : '';
}
