// @connectrpc/connect-node against Portico: the Connect protocol (JSON and proto, HTTP/1.1 and
// HTTP/2), gRPC-Web and gRPC transports, over plaintext (h2c by prior knowledge) and TLS (h2 by
// ALPN). The client is built from the descriptor set at run time (createClient accepts a
// DescService). Run by run.sh; see lib.mjs for the environment.

import { Code, ConnectError, createClient, encodeBinaryHeader } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { CA, PLAIN, Suite, TLS, TestService, eq, main, ok, schema } from './lib.mjs';

const suite = new Suite('connect-node');

// [label, factory, options, kinds]: kinds lists the call kinds the protocol carries. (connect-node's
// Connect transport defaults to the binary format: JSON is asked for explicitly.)
function transports() {
  const plain = `http://${PLAIN}`;
  const tls = TLS ? `https://${TLS}` : '';
  const nodeOptions = { ca: CA };
  const unaryAndServer = ['unary', 'server'];
  const all = ['unary', 'server', 'client', 'bidi'];
  return [
    ['connect+json http/1.1', createConnectTransport,
      { baseUrl: plain, httpVersion: '1.1', useBinaryFormat: false }, unaryAndServer],
    ['connect+proto http/1.1', createConnectTransport,
      { baseUrl: plain, httpVersion: '1.1', useBinaryFormat: true }, unaryAndServer],
    ['connect+json h2c', createConnectTransport,
      { baseUrl: plain, httpVersion: '2', useBinaryFormat: false }, unaryAndServer],
    ['connect+proto h2c', createConnectTransport,
      { baseUrl: plain, httpVersion: '2', useBinaryFormat: true }, unaryAndServer],
    ['grpc-web http/1.1', createGrpcWebTransport,
      { baseUrl: plain, httpVersion: '1.1', useBinaryFormat: true }, unaryAndServer],
    ['grpc-web h2c', createGrpcWebTransport,
      { baseUrl: plain, httpVersion: '2', useBinaryFormat: true }, unaryAndServer],
    ['grpc h2c', createGrpcTransport, { baseUrl: plain }, all],
    ['connect+json https/1.1', createConnectTransport,
      { baseUrl: tls, httpVersion: '1.1', useBinaryFormat: false, nodeOptions }, unaryAndServer],
    ['connect+proto h2 (TLS)', createConnectTransport,
      { baseUrl: tls, httpVersion: '2', useBinaryFormat: true, nodeOptions }, unaryAndServer],
    ['grpc-web h2 (TLS)', createGrpcWebTransport,
      { baseUrl: tls, httpVersion: '2', useBinaryFormat: true, nodeOptions }, unaryAndServer],
    ['grpc h2 (TLS)', createGrpcTransport, { baseUrl: tls, nodeOptions }, all],
  ];
}

async function* requests(...messages) {
  for (const message of messages) yield { message };
}

async function expectError(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    const err = ConnectError.from(e);
    if (err.code !== code) {
      throw new Error(`${what}: got code ${Code[err.code]} (${err.rawMessage}), want ${Code[code]}`);
    }
    return err;
  }
  throw new Error(`${what}: succeeded, want ${Code[code]}`);
}

async function runTransport(label, factory, options, kinds) {
  const client = createClient(TestService, factory(options));
  const c = (name, fn) => suite.case(`${label}: ${name}`, fn);

  await c('unary Echo', async () => {
    const reply = await client.echo({
      fString: 'héllo', fInt64: 9007199254740993n, fBool: true, fBytes: new Uint8Array([0, 1, 255]),
      inner: { s: 'in', n: 7, tags: ['a', 'b'] }, rString: ['x', 'y'], mInt: { k: 3 },
    });
    eq(reply.fString, 'héllo', 'f_string');
    eq(reply.fInt64, 9007199254740993n, 'f_int64');
    eq(reply.fBool, true, 'f_bool');
    eq(Array.from(reply.fBytes), [0, 1, 255], 'f_bytes');
    eq([reply.inner?.s, reply.inner?.n, reply.inner?.tags], ['in', 7, ['a', 'b']], 'inner');
    eq(reply.rString, ['x', 'y'], 'r_string');
    eq(reply.mInt, { k: 3 }, 'm_int');
  });

  await c('server stream', async () => {
    const got = [];
    for await (const r of client.serverStream({ message: 'tick', repeat: 3, intervalMs: 10 })) {
      got.push([r.message, r.index]);
    }
    eq(got, [['tick', 0], ['tick', 1], ['tick', 2]], 'replies');
  });

  await c('server stream ending in an error', async () => {
    const got = [];
    const err = await expectError((async () => {
      for await (const r of client.serverStream({ message: 'm', repeat: 2, failCode: Code.Aborted })) {
        got.push(r.index);
      }
    })(), Code.Aborted, 'stream status');
    eq(got, [0, 1], 'replies before the error');
    eq(err.rawMessage, 'stream failed', 'message');
  });

  await c('error with details', async () => {
    const err = await expectError(
      client.fail({ code: Code.NotFound, message: 'no such thing', withDetails: true }),
      Code.NotFound, 'Fail');
    eq(err.rawMessage, 'no such thing', 'message');
    const badRequest = err.findDetails(schema('google.rpc.BadRequest'));
    eq(badRequest.map((d) => d.fieldViolations.map((v) => [v.field, v.description])),
      [[['name', 'must not be empty']]], 'google.rpc.BadRequest detail');
    const info = err.findDetails(schema('google.rpc.ErrorInfo'));
    eq(info.map((d) => [d.reason, d.domain, d.metadata]), [['TEST_REASON', 'portico.test', { k: 'v' }]],
      'google.rpc.ErrorInfo detail');
  });

  await c('metadata both ways', async () => {
    let header;
    let trailer;
    const reply = await client.metadata({}, {
      headers: { 'x-client-meta': 'v1', 'x-trace-bin': encodeBinaryHeader(new Uint8Array([1, 2, 3])) },
      onHeader: (h) => { header = h; },
      onTrailer: (t) => { trailer = t; },
    });
    eq(reply.metadata['x-client-meta'], 'v1', 'x-client-meta as the backend saw it');
    eq(reply.metadata['x-trace-bin'], 'AQID', 'x-trace-bin (base64 of 01 02 03) as the backend saw it');
    eq(header?.get('x-reply-header'), 'h', 'response header x-reply-header');
    eq(trailer?.get('x-reply-trailer'), 't', 'response trailer x-reply-trailer');
  });

  await c('timeout', async () => {
    eq((await client.sleep({ ms: 10 }, { timeoutMs: 5000 })).cancelled, false, 'a short Sleep first');
    const started = Date.now();
    await expectError(client.sleep({ ms: 5000 }, { timeoutMs: 300 }), Code.DeadlineExceeded, 'Sleep 5 s');
    ok(Date.now() - started < 4000, `deadline took ${Date.now() - started} ms`);
  });

  await c('cancel a server stream', async () => {
    const abort = new AbortController();
    const got = [];
    const started = Date.now();
    await expectError((async () => {
      for await (const r of client.serverStream({ message: 'slow', repeat: 50, intervalMs: 200 },
        { signal: abort.signal })) {
        got.push(r.index);
        abort.abort();
      }
    })(), Code.Canceled, 'aborted stream');
    eq(got, [0], 'replies before the cancel');
    ok(Date.now() - started < 4000, `cancel took ${Date.now() - started} ms`);
  });

  if (kinds.includes('client')) {
    await c('client stream', async () => {
      const reply = await client.clientStream(requests('a', 'b', 'c'));
      eq([reply.message, reply.index], ['a,b,c', 3], 'reply');
    });
  }
  if (kinds.includes('bidi')) {
    await c('bidi stream', async () => {
      const got = [];
      for await (const r of client.bidiStream(requests('x', 'y'))) got.push([r.message, r.index]);
      eq(got, [['x', 1], ['y', 2]], 'replies');
    });
  }
}

main(async () => {
  for (const [label, factory, options, kinds] of transports()) {
    if (options.baseUrl === '') {
      suite.notRun(label, 'Portico with tls did not start (see portico_tls.log)');
      continue;
    }
    await runTransport(label, factory, options, kinds);
  }
  suite.finish();
});
