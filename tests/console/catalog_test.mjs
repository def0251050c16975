// Unit tests of the console's catalog (http/console/catalog.js): the OpenAPI document joined with
// /admin/routes, the fallback without the document, $ref resolution and type labels. fetch is
// replaced by canned answers. Run: node --test tests/console/catalog_test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog, resolve, typeLabel, mainType } from '../../http/console/catalog.js';

const DOC = {
  openapi: '3.1.0',
  tags: [{ name: 'greeter.v1.Greeter', description: 'Greets.' }, { name: 'gone.Svc' }],
  paths: {
    '/greeter.v1.Greeter/SayHello': { post: {
      'x-portico-grpc-method': '/greeter.v1.Greeter/SayHello', 'x-portico-streaming': 'unary',
      'x-portico-request': 'greeter.v1.HelloRequest', 'x-portico-response': 'greeter.v1.HelloReply',
      'x-portico-default-route': true, summary: 'Says hello.' } },
    '/v1/hello/{name}': { get: {
      'x-portico-grpc-method': '/greeter.v1.Greeter/SayHello', 'x-portico-streaming': 'unary',
      'x-portico-default-route': false }, parameters: [] },
    '/greeter.v1.Greeter/StreamHellos': { post: {
      'x-portico-grpc-method': '/greeter.v1.Greeter/StreamHellos', 'x-portico-streaming': 'server' } },
  },
  components: { schemas: {
    'greeter.v1.HelloRequest': { type: 'object', properties: {
      name: { type: 'string' }, times: { type: 'integer', format: 'int32' },
      big: { type: 'string', format: 'int64' }, tags: { type: 'array', items: { type: 'string' } },
      labels: { type: 'object', additionalProperties: { $ref: '#/components/schemas/greeter.v1.HelloReply' } },
      maybe: { type: ['boolean', 'null'] }, self: { $ref: '#/components/schemas/greeter.v1.HelloRequest' },
    } },
    'greeter.v1.HelloReply': { type: 'object', properties: { message: { type: 'string' } } },
    'loop.A': { $ref: '#/components/schemas/loop.B' },
    'loop.B': { $ref: '#/components/schemas/loop.A' },
  } },
};
const ROUTES = { routes: [
  { backend: 'greeter', grpc_method: '/greeter.v1.Greeter/SayHello', http_method: 'GET',
    path: '/v1/hello/{name}', policies: { rate_limit: 'limit' }, streaming: 'unary' },
  { backend: 'greeter', grpc_method: '/greeter.v1.Greeter/SayHello', http_method: 'POST',
    path: '/greeter.v1.Greeter/SayHello', policies: {}, streaming: 'unary' },
  { backend: 'greeter', grpc_method: '/greeter.v1.Greeter/StreamHellos', http_method: 'POST',
    path: '/greeter.v1.Greeter/StreamHellos', policies: {}, streaming: 'server' },
  { backend: 'chat', grpc_method: '/chat.v1.Chat/Join', http_method: 'POST',
    path: '/chat.v1.Chat/Join', policies: {}, streaming: 'bidi' },
] };

function fakeFetch(answers) {
  globalThis.fetch = async (path) => {
    const body = answers[path];
    const status = body === undefined ? 404 : 200;
    const text = JSON.stringify(body === undefined ? { code: 5, message: `no admin route ${path}` } : body);
    return { status, ok: status === 200, text: async () => text };
  };
}

test('the OpenAPI document joined with the routes', async () => {
  fakeFetch({ '/admin/openapi.json': DOC, '/admin/routes': ROUTES });
  const catalog = await loadCatalog();
  assert.equal(catalog.openapiError, null);
  // Services without methods (a stale tag) are left out; a routed service the document lacks stays.
  assert.deepEqual(catalog.services.map((s) => s.name), ['chat.v1.Chat', 'greeter.v1.Greeter']);
  const greeter = catalog.services[1];
  assert.equal(greeter.description, 'Greets.');
  const hello = catalog.methods.get('/greeter.v1.Greeter/SayHello');
  assert.equal(hello.kind, 'unary');
  assert.equal(hello.request, 'greeter.v1.HelloRequest');
  assert.equal(hello.summary, 'Says hello.');
  assert.equal(hello.backend, 'greeter');
  assert.deepEqual(hello.routes.map((r) => `${r.httpMethod} ${r.path}`).sort(),
                   ['GET /v1/hello/{name}', 'POST /greeter.v1.Greeter/SayHello']);
  assert.deepEqual(hello.routes.find((r) => r.httpMethod === 'GET').policies, { rate_limit: 'limit' });
  assert.equal(catalog.methods.get('/greeter.v1.Greeter/StreamHellos').kind, 'server');
  // A method the document does not know keeps the kind it has by default (unary) and no schema.
  assert.equal(catalog.methods.get('/chat.v1.Chat/Join').request, null);
});

test('a multi-segment route is matched to /admin/routes by its rule template, not its OpenAPI path', async () => {
  const doc = { openapi: '3.1.0', paths: { '/v1/{name}': { get: {
    'x-portico-grpc-method': '/lib.v1.Books/GetBook', 'x-portico-streaming': 'unary',
    'x-portico-path-template': '/v1/{name=shelves/*/books/*}' } } } };
  const routes = { routes: [{ backend: 'lib', grpc_method: '/lib.v1.Books/GetBook', http_method: 'GET',
    path: '/v1/{name=shelves/*/books/*}', policies: { jwt: 'auth' }, streaming: 'unary' }] };
  fakeFetch({ '/admin/openapi.json': doc, '/admin/routes': routes });
  const book = (await loadCatalog()).methods.get('/lib.v1.Books/GetBook');
  assert.deepEqual(book.routes.map((r) => `${r.httpMethod} ${r.path}`), ['GET /v1/{name=shelves/*/books/*}']);
  assert.deepEqual(book.routes[0].policies, { jwt: 'auth' });
});

test('without the OpenAPI document: services and kinds from the routes', async () => {
  fakeFetch({ '/admin/routes': ROUTES });
  const catalog = await loadCatalog();
  assert.match(catalog.openapiError, /no admin route/);
  assert.equal(catalog.methods.get('/chat.v1.Chat/Join').kind, 'bidi');
  assert.equal(catalog.methods.get('/greeter.v1.Greeter/StreamHellos').kind, 'server');
  assert.deepEqual(catalog.schemas, {});
});

test('neither answers: the error is thrown', async () => {
  fakeFetch({});
  await assert.rejects(loadCatalog(), /no admin route/);
});

test('$ref resolution is bounded and type labels read well', () => {
  const schemas = DOC.components.schemas;
  assert.deepEqual(resolve(schemas, { $ref: '#/components/schemas/greeter.v1.HelloReply' }).name,
                   'greeter.v1.HelloReply');
  assert.doesNotThrow(() => resolve(schemas, { $ref: '#/components/schemas/loop.A' }));
  assert.deepEqual(resolve(schemas, { $ref: '#/components/schemas/missing' }).schema, {});
  const p = schemas['greeter.v1.HelloRequest'].properties;
  assert.equal(typeLabel(schemas, p.name), 'string');
  assert.equal(typeLabel(schemas, p.times), 'int32');
  assert.equal(typeLabel(schemas, p.big), 'int64');
  assert.equal(typeLabel(schemas, p.tags), 'repeated string');
  assert.equal(typeLabel(schemas, p.labels), 'map<string, greeter.v1.HelloReply>');
  assert.equal(typeLabel(schemas, p.self), 'greeter.v1.HelloRequest');
  assert.equal(mainType(p.maybe), 'boolean');
});
