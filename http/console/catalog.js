// The catalog of services and methods the console shows and calls, built from
// GET /admin/openapi.json (schemas, comments) joined with GET /admin/routes (backend, policies).
// When the OpenAPI document is unavailable, the routes alone give services and methods (then
// there are no schemas and the call panel offers raw JSON only).
import { get } from './api.js';

const REF_PREFIX = '#/components/schemas/';

export function refName(ref) {
  return typeof ref === 'string' && ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : null;
}

// catalog = {services: [{name, description, methods: [method]}], methods: Map<grpcPath, method>,
//            schemas: {name: schema}, openapiError: string|null}
// method = {path: '/pkg.Svc/Method', service, name, kind, request, response, summary, description,
//           routes: [{httpMethod, path, defaultRoute, backend, policies}], backend}
export async function loadCatalog() {
  const [openapi, routes] = await Promise.allSettled([get('/admin/openapi.json'), get('/admin/routes')]);
  if (routes.status === 'rejected' && openapi.status === 'rejected') throw routes.reason;
  const services = new Map();
  const methods = new Map();
  const service = (name) => {
    if (!services.has(name)) services.set(name, { name, description: '', methods: [] });
    return services.get(name);
  };
  const method = (path) => {
    if (!methods.has(path)) {
      const m = /^\/?([^/]+)\/([^/]+)$/.exec(path) || [null, '', path];
      const entry = { path: `/${m[1]}/${m[2]}`, service: m[1], name: m[2], kind: 'unary',
                      request: null, response: null, summary: '', description: '', routes: [],
                      backend: null };
      methods.set(entry.path, entry);
      service(m[1]).methods.push(entry);
    }
    return methods.get(path.startsWith('/') ? path : `/${path}`);
  };
  const doc = openapi.status === 'fulfilled' && openapi.value && typeof openapi.value === 'object'
    ? openapi.value : null;
  if (doc) {
    for (const tag of doc.tags || []) {
      if (tag && typeof tag.name === 'string') service(tag.name).description = tag.description || '';
    }
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const [verb, op] of Object.entries(item || {})) {
        if (!op || typeof op !== 'object' || typeof op['x-portico-grpc-method'] !== 'string') continue;
        const m = method(op['x-portico-grpc-method']);
        m.kind = op['x-portico-streaming'] || m.kind;
        m.request = op['x-portico-request'] || m.request;
        m.response = op['x-portico-response'] || m.response;
        m.summary = m.summary || op.summary || '';
        m.description = m.description || op.description || '';
        // The rule's own template (as /admin/routes lists it): the OpenAPI path differs for
        // multi-segment variables ({name=shelves/*} is {name} there).
        const template = typeof op['x-portico-path-template'] === 'string'
          ? op['x-portico-path-template'] : path;
        m.routes.push({ httpMethod: verb.toUpperCase(), path: template,
                        defaultRoute: op['x-portico-default-route'] === true });
      }
    }
  }
  if (routes.status === 'fulfilled' && routes.value && Array.isArray(routes.value.routes)) {
    for (const r of routes.value.routes) {
      if (!r || typeof r.grpc_method !== 'string') continue;
      const m = method(r.grpc_method);
      if (!doc) m.kind = r.streaming || m.kind;
      m.backend = r.backend || m.backend;
      let route = m.routes.find((x) => x.httpMethod === r.http_method && x.path === r.path);
      if (!route) {
        route = { httpMethod: r.http_method, path: r.path,
                  defaultRoute: r.path === m.path && r.http_method === 'POST' };
        m.routes.push(route);
      }
      route.backend = r.backend;
      route.policies = r.policies || {};
    }
  }
  const list = [...services.values()].filter((s) => s.methods.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const s of list) s.methods.sort((a, b) => a.name.localeCompare(b.name));
  return {
    services: list,
    methods,
    schemas: (doc && doc.components && doc.components.schemas) || {},
    openapiError: doc ? null : String((openapi.reason && openapi.reason.message) || 'unavailable'),
  };
}

// Follows $ref chains (bounded) to a schema; returns {schema, name} (name of the last ref).
export function resolve(schemas, schema) {
  let name = null;
  for (let i = 0; i < 16 && schema && typeof schema === 'object' && schema.$ref; i += 1) {
    name = refName(schema.$ref);
    schema = name !== null ? schemas[name] : undefined;
  }
  return { schema: schema && typeof schema === 'object' ? schema : {}, name };
}

// The non-null type of a schema ("string", "object", ...): nullable types come as
// ["string", "null"] (wrappers) or anyOf/oneOf with {type: "null"}.
export function mainType(schema) {
  const t = schema.type;
  if (Array.isArray(t)) return t.find((x) => x !== 'null') || 'null';
  return t;
}

export function nonNullAlternative(schema) {
  const alts = schema.oneOf || schema.anyOf;
  if (!Array.isArray(alts)) return null;
  const rest = alts.filter((a) => !(a && a.type === 'null'));
  return rest.length === 1 ? rest[0] : null;
}

// A short type name for display: "string", "int64", "greeter.v1.HelloReply", "repeated X",
// "map<string, X>".
export function typeLabel(schemas, schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 8) return 'any';
  if (schema.$ref) return refName(schema.$ref) || schema.$ref;
  const alt = nonNullAlternative(schema);
  if (alt) return `${typeLabel(schemas, alt, depth + 1)} (nullable)`;
  const type = mainType(schema);
  if (type === 'array') return `repeated ${typeLabel(schemas, schema.items, depth + 1)}`;
  if (type === 'object' && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    return `map<string, ${typeLabel(schemas, schema.additionalProperties, depth + 1)}>`;
  }
  if ((type === 'string' || type === 'integer' || type === 'number') && schema.format) return schema.format;
  if (type === 'string' && schema.contentEncoding) return `bytes (${schema.contentEncoding})`;
  if (Array.isArray(schema.enum)) return 'enum';
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  return type || 'any';
}
