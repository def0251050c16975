// The browser cases: grpc-web (text and binary), @connectrpc/connect-web and WebSockets (ws and
// wss) from this page's origin to Portico's (cross-origin: CORS through Portico's policy).
// Query: ?plain=http://127.0.0.1:P&tls=https://127.0.0.1:Q (tls empty when Portico with tls
// did not start). Sets window.cases (name -> async function that throws on failure) and
// window.ready; browser.mjs runs them one by one.

import { create, createFileRegistry, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, anyUnpack } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';
import { GrpcWebClientBase, MethodDescriptor, MethodType } from 'grpc-web';

const params = new URLSearchParams(location.search);
const PLAIN = params.get('plain');
const TLS = params.get('tls') || '';
const SERVICE = 'portico.test.v1.TestService';

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema,
  new Uint8Array(await (await fetch('/test.pb')).arrayBuffer())));
const TestService = registry.getService(SERVICE);
const schema = (name) => registry.getMessage(name);

function eq(actual, expected, what) {
  const a = JSON.stringify(actual, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const b = JSON.stringify(expected, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  if (a !== b) throw new Error(`${what}: got ${a}, want ${b}`);
}

function needTls() {
  if (!TLS) throw new Error('not run: Portico with tls did not start (see portico_tls.log)');
  return TLS;
}

// ---- grpc-web (the official client), serializers from the registry.
function descriptor(method, type, request, reply) {
  const req = schema(request);
  const rep = schema(reply);
  return new MethodDescriptor(`/${SERVICE}/${method}`, type, Object, Object,
    (init) => toBinary(req, create(req, init)), (bytes) => fromBinary(rep, bytes));
}
const Echo = descriptor('Echo', MethodType.UNARY, 'portico.test.v1.AllTypes', 'portico.test.v1.AllTypes');
const ServerStream = descriptor('ServerStream', MethodType.SERVER_STREAMING, 'portico.test.v1.StreamRequest',
  'portico.test.v1.StreamReply');
const Fail = descriptor('Fail', MethodType.UNARY, 'portico.test.v1.FailRequest', 'google.protobuf.Empty');
const Metadata = descriptor('Metadata', MethodType.UNARY, 'google.protobuf.Empty', 'portico.test.v1.MetadataReply');

function grpcWebUnary(client, base, md, request, metadata = {}) {
  let headers = null;
  let status = null;
  return new Promise((resolve, reject) => {
    const call = client.rpcCall(`${base}${md.getName()}`, request, metadata, md, (err, reply) => {
      if (err) reject(Object.assign(new Error(`grpc-web error ${err.code}: ${err.message}`), { rpc: err }));
      else setTimeout(() => resolve({ reply, headers, status }), 0);  // status arrives after the reply
    });
    call.on('metadata', (m) => { headers = m; });
    call.on('status', (s) => { status = s; });
  });
}

function grpcWebStream(client, base, request) {
  return new Promise((resolve, reject) => {
    const got = [];
    const stream = client.serverStreaming(`${base}${ServerStream.getName()}`, request, {}, ServerStream);
    stream.on('data', (r) => got.push([r.message, r.index]));
    stream.on('error', (e) => reject(Object.assign(new Error(`grpc-web error ${e.code}: ${e.message}`),
      { rpc: e, got })));
    stream.on('end', () => resolve(got));
  });
}

function base64ToBytes(text) {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function grpcWebCases(format, label, baseOf) {
  const client = new GrpcWebClientBase({ format });
  return {
    [`grpc-web ${label}: unary Echo`]: async () => {
      const { reply } = await grpcWebUnary(client, baseOf(), Echo,
        { fString: 'héllo', fInt64: 42n, inner: { s: 'in', n: 7 }, rString: ['x', 'y'] });
      eq([reply.fString, reply.fInt64, reply.inner?.s, reply.rString], ['héllo', 42n, 'in', ['x', 'y']], 'reply');
    },
    [`grpc-web ${label}: server stream`]: async () => {
      eq(await grpcWebStream(client, baseOf(), { message: 'tick', repeat: 3, intervalMs: 10 }),
        [['tick', 0], ['tick', 1], ['tick', 2]], 'replies');
    },
    [`grpc-web ${label}: server stream ending in an error`]: async () => {
      try {
        await grpcWebStream(client, baseOf(), { message: 'm', repeat: 2, failCode: 10 });
      } catch (e) {
        eq([e.rpc?.code, e.rpc?.message, e.got], [10, 'stream failed', [['m', 0], ['m', 1]]], 'status and replies');
        return;
      }
      throw new Error('stream ended OK, want ABORTED');
    },
    [`grpc-web ${label}: error with details`]: async () => {
      try {
        await grpcWebUnary(client, baseOf(), Fail, { code: 5, message: 'no such thing', withDetails: true });
      } catch (e) {
        eq([e.rpc?.code, e.rpc?.message], [5, 'no such thing'], 'code and message');
        const raw = e.rpc?.metadata?.['grpc-status-details-bin'];
        if (!raw) throw new Error(`no grpc-status-details-bin; metadata ${JSON.stringify(e.rpc?.metadata)}`);
        const status = fromBinary(schema('google.rpc.Status'), base64ToBytes(raw));
        const details = status.details.map((any) => anyUnpack(any, registry));
        eq([details[0]?.fieldViolations?.[0]?.field, details[1]?.reason], ['name', 'TEST_REASON'], 'details');
        return;
      }
      throw new Error('Fail succeeded');
    },
    [`grpc-web ${label}: metadata both ways`]: async () => {
      const { reply, headers, status } = await grpcWebUnary(client, baseOf(), Metadata, {},
        { 'x-client-meta': 'v1' });
      eq(reply.metadata['x-client-meta'], 'v1', 'x-client-meta as the backend saw it');
      eq(headers?.['x-reply-header'], 'h', 'response header x-reply-header (exposed by CORS)');
      eq(status?.metadata?.['x-reply-trailer'], 't', 'trailer x-reply-trailer (trailers frame)');
    },
  };
}

// ---- @connectrpc/connect-web
function connectCases(label, makeTransport) {
  const client = () => createClient(TestService, makeTransport());
  return {
    [`connect-web ${label}: unary Echo`]: async () => {
      const reply = await client().echo({ fString: 'héllo', fInt64: 42n, inner: { s: 'in' }, mInt: { k: 3 } });
      eq([reply.fString, reply.fInt64, reply.inner?.s, reply.mInt], ['héllo', 42n, 'in', { k: 3 }], 'reply');
    },
    [`connect-web ${label}: server stream`]: async () => {
      const got = [];
      for await (const r of client().serverStream({ message: 'tick', repeat: 3, intervalMs: 10 })) {
        got.push([r.message, r.index]);
      }
      eq(got, [['tick', 0], ['tick', 1], ['tick', 2]], 'replies');
    },
    [`connect-web ${label}: error with details`]: async () => {
      try {
        await client().fail({ code: Code.NotFound, message: 'no such thing', withDetails: true });
      } catch (e) {
        const err = ConnectError.from(e);
        eq([err.code, err.rawMessage], [Code.NotFound, 'no such thing'], 'code and message');
        eq(err.findDetails(schema('google.rpc.ErrorInfo')).map((d) => d.reason), ['TEST_REASON'], 'ErrorInfo');
        return;
      }
      throw new Error('Fail succeeded');
    },
  };
}

// ---- WebSocket bridge (section 6): a server stream over ws:// and wss://.
function webSocketCase(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/${SERVICE}/ServerStream`);
    const got = [];
    const timer = setTimeout(() => { ws.close(); reject(new Error(`no close after 8 s; got ${got}`)); }, 8000);
    ws.onopen = () => {
      ws.send(JSON.stringify({ message: 'w', repeat: 2 }));
      ws.send('');  // half-close
    };
    ws.onmessage = (m) => got.push(JSON.parse(m.data));
    ws.onerror = () => { clearTimeout(timer); reject(new Error('WebSocket error (handshake refused?)')); };
    ws.onclose = (e) => {
      clearTimeout(timer);
      try {
        eq([e.code, got.map((r) => [r.message, r.index ?? 0])], [1000, [['w', 0], ['w', 1]]], 'close code and replies');
        resolve();
      } catch (err) {
        reject(err);
      }
    };
  });
}

const wsUrl = (base) => base.replace(/^http/, 'ws');
window.cases = {
  ...grpcWebCases('text', 'text', () => PLAIN),
  ...grpcWebCases('binary', 'binary', () => PLAIN),
  ...connectCases('json', () => createConnectTransport({ baseUrl: PLAIN })),
  ...connectCases('proto', () => createConnectTransport({ baseUrl: PLAIN, useBinaryFormat: true })),
  'connect-web grpc-web transport: unary Echo': async () => {
    const reply = await createClient(TestService, createGrpcWebTransport({ baseUrl: PLAIN })).echo({ fString: 'gw' });
    eq(reply.fString, 'gw', 'reply');
  },
  'grpc-web text over HTTPS (h2): unary Echo': async () => {
    const { reply } = await grpcWebUnary(new GrpcWebClientBase({ format: 'text' }), needTls(), Echo, { fString: 's' });
    eq(reply.fString, 's', 'reply');
  },
  'connect-web json over HTTPS (h2): server stream': async () => {
    const client = createClient(TestService, createConnectTransport({ baseUrl: needTls() }));
    const got = [];
    for await (const r of client.serverStream({ message: 's', repeat: 2 })) got.push(r.index);
    eq(got, [0, 1], 'replies');
  },
  'WebSocket ws:// server stream': () => webSocketCase(wsUrl(PLAIN)),
  'WebSocket wss:// server stream': async () => webSocketCase(wsUrl(needTls())),
};
window.ready = true;
