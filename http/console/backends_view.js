// Backends: each with its endpoints' health (refreshed every few seconds while shown), and the
// JSON editor of entries_view.js to create, edit and delete them.
import { h } from './dom.js';
import { EntriesView } from './entries_view.js';

const HEALTH_TEXT = { healthy: 'healthy', unhealthy: 'UNHEALTHY', unknown: 'unknown' };

function describe(backend) {
  const endpoints = Array.isArray(backend.endpoint_health) ? backend.endpoint_health : [];
  return h('div', { class: 'backend' },
    h('p', {}, 'Services: ', (backend.services || []).length
      ? backend.services.map((s, i) => [i ? ', ' : '', h('code', {}, s)]) : 'any (reflection)'),
    backend.discovery_error ? h('p', { class: 'notice notice-error' }, `Discovery error: ${backend.discovery_error}`) : null,
    h('div', { class: 'table-wrap' }, h('table', { class: 'endpoints' },
      h('thead', {}, h('tr', {}, ['Endpoint', 'Health', 'Connection', 'In flight', 'Ejections']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, endpoints.length ? endpoints.map((e) => h('tr', { dataset: { address: e.address } },
        h('th', { scope: 'row' }, h('code', {}, e.address)),
        h('td', { dataset: { label: 'Health' } },
          h('span', { class: `health health-${e.health}` }, HEALTH_TEXT[e.health] || String(e.health)),
          e.ejected_until ? ` (ejected until ${e.ejected_until})` : ''),
        h('td', { dataset: { label: 'Connection' } }, String(e.state ?? '')),
        h('td', { dataset: { label: 'In flight' } }, String(e.in_flight ?? 0)),
        h('td', { dataset: { label: 'Ejections' } }, String(e.ejections ?? 0))))
        : h('tr', {}, h('td', { colspan: '5' }, 'No endpoints.'))))));
}

export function backendsView() {
  return new EntriesView({
    id: 'backends',
    title: 'Backends',
    kind: 'backend',
    path: '/admin/backends',
    listKey: 'backends',
    template: { endpoints: ['127.0.0.1:50051'], services: ['pkg.Service'], timeout: '30s' },
    readOnlyKeys: ['source', 'endpoint_health', 'in_flight', 'reflection', 'discovery_error'],
    describe,
    refreshMs: 3000,
  });
}

export function policiesView() {
  return new EntriesView({
    id: 'policies',
    title: 'Policies',
    kind: 'policy',
    path: '/admin/policies',
    listKey: 'policies',
    template: { match: { path_prefix: '/v1/' }, rate_limit: { rate: 100, per: '1s', burst: 200, key: 'ip' } },
    readOnlyKeys: ['source'],
  });
}

export function aggregatesView() {
  return new EntriesView({
    id: 'aggregates',
    title: 'Aggregates',
    kind: 'aggregate',
    path: '/admin/aggregates',
    listKey: 'aggregates',
    template: { route: 'GET /v1/dashboard/{id}', timeout: '2s', on_error: 'partial',
                calls: { first: { method: 'pkg.Service/Method', request: { id: '{id}' } } } },
    readOnlyKeys: ['source'],
  });
}
