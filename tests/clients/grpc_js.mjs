// @grpc/grpc-js against Portico's native gRPC front door: the four call kinds, an error with
// details (grpc-status-details-bin), metadata both ways, a deadline, a cancel and an unknown
// service, over h2c and over TLS (h2 by ALPN, the runner's CA trusted). No code generation: a
// generic grpc.Client with serializers from the descriptor set's registry.

import grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { CA, PLAIN, Suite, TLS, eq, main, ok, registry, schema } from './lib.mjs';

const suite = new Suite('grpc-js');
const PREFIX = '/portico.test.v1.TestService/';

const codec = (name) => {
  const s = schema(name);
  return {
    serialize: (init) => Buffer.from(toBinary(s, create(s, init))),
    deserialize: (bytes) => fromBinary(s, bytes),
  };
};
const AllTypes = codec('portico.test.v1.AllTypes');
const StreamRequest = codec('portico.test.v1.StreamRequest');
const StreamReply = codec('portico.test.v1.StreamReply');
const FailRequest = codec('portico.test.v1.FailRequest');
const Empty = codec('google.protobuf.Empty');
const SleepRequest = codec('portico.test.v1.SleepRequest');
const SleepReply = codec('portico.test.v1.SleepReply');
const MetadataReply = codec('portico.test.v1.MetadataReply');

function unary(client, method, req, reqCodec, repCodec, { metadata = new grpc.Metadata(), options = {} } = {}) {
  let call;
  const promise = new Promise((resolve, reject) => {
    call = client.makeUnaryRequest(PREFIX + method, reqCodec.serialize, repCodec.deserialize, req,
      metadata, options, (err, reply) => (err ? reject(err) : resolve(reply)));
  });
  return { call, promise };
}

function collect(stream) {
  return new Promise((resolve, reject) => {
    const got = [];
    stream.on('data', (r) => got.push([r.message, r.index]));
    stream.on('error', (e) => { e.got = got; reject(e); });
    stream.on('end', () => resolve(got));
  });
}

async function expectStatus(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    if (e.code !== code) throw new Error(`${what}: got status ${e.code} (${e.details}), want ${code}`);
    return e;
  }
  throw new Error(`${what}: succeeded, want status ${code}`);
}

async function runChannel(label, address, credentials) {
  const client = new grpc.Client(address, credentials);
  const c = (name, fn) => suite.case(`${label}: ${name}`, fn);
  try {
    await c('unary Echo', async () => {
      const reply = await unary(client, 'Echo', {
        fString: 'héllo', fInt64: 9007199254740993n, inner: { s: 'in', n: 7 }, rString: ['x', 'y'],
      }, AllTypes, AllTypes).promise;
      eq([reply.fString, reply.fInt64, reply.inner?.s, reply.inner?.n, reply.rString],
        ['héllo', 9007199254740993n, 'in', 7, ['x', 'y']], 'reply');
    });

    await c('server stream', async () => {
      const stream = client.makeServerStreamRequest(PREFIX + 'ServerStream', StreamRequest.serialize,
        StreamReply.deserialize, { message: 'tick', repeat: 3, intervalMs: 10 });
      eq(await collect(stream), [['tick', 0], ['tick', 1], ['tick', 2]], 'replies');
    });

    await c('client stream', async () => {
      let call;
      const promise = new Promise((resolve, reject) => {
        call = client.makeClientStreamRequest(PREFIX + 'ClientStream', StreamRequest.serialize,
          StreamReply.deserialize, (err, reply) => (err ? reject(err) : resolve(reply)));
      });
      for (const m of ['a', 'b', 'c']) call.write({ message: m });
      call.end();
      const reply = await promise;
      eq([reply.message, reply.index], ['a,b,c', 3], 'reply');
    });

    await c('bidi stream (ping-pong)', async () => {
      const call = client.makeBidiStreamRequest(PREFIX + 'BidiStream', StreamRequest.serialize,
        StreamReply.deserialize);
      const replies = [];
      const waiters = [];
      let failure = null;
      const wake = () => { while (waiters.length) waiters.shift()(); };
      call.on('data', (r) => { replies.push([r.message, r.index]); wake(); });
      call.on('error', (e) => { failure = e; wake(); });
      const ended = new Promise((resolve) => call.on('end', resolve));
      // One request per reply: each reply must arrive before the next request is written,
      // which a proxy that buffers the request stream would not pass.
      for (const [i, m] of ['x', 'y', 'z'].entries()) {
        call.write({ message: m });
        while (replies.length <= i && !failure) await new Promise((resolve) => waiters.push(resolve));
        if (failure) throw failure;
      }
      call.end();
      await Promise.race([ended, new Promise((resolve) => call.on('error', resolve))]);
      if (failure) throw failure;
      eq(replies, [['x', 1], ['y', 2], ['z', 3]], 'replies');
    });

    await c('error with details', async () => {
      const err = await expectStatus(unary(client, 'Fail', { code: 5, message: 'no such thing', withDetails: true },
        FailRequest, Empty).promise, grpc.status.NOT_FOUND, 'Fail');
      eq(err.details, 'no such thing', 'grpc-message');
      const raw = err.metadata.get('grpc-status-details-bin');
      ok(raw.length === 1, `grpc-status-details-bin: ${raw.length} values`);
      const status = fromBinary(schema('google.rpc.Status'), raw[0]);
      eq([status.code, status.message], [5, 'no such thing'], 'google.rpc.Status');
      const details = status.details.map((any) => anyUnpack(any, registry));
      eq(details[0]?.fieldViolations?.[0]?.field, 'name', 'BadRequest detail');
      eq(details[1]?.reason, 'TEST_REASON', 'ErrorInfo detail');
    });

    await c('metadata both ways', async () => {
      const md = new grpc.Metadata();
      md.set('x-client-meta', 'v1');
      md.set('x-trace-bin', Buffer.from([1, 2, 3]));
      const { call, promise } = unary(client, 'Metadata', {}, Empty, MetadataReply, { metadata: md });
      let header;
      let trailer;
      call.on('metadata', (m) => { header = m; });
      call.on('status', (s) => { trailer = s.metadata; });
      const reply = await promise;
      eq(reply.metadata['x-client-meta'], 'v1', 'x-client-meta as the backend saw it');
      eq(reply.metadata['x-trace-bin'], 'AQID', 'x-trace-bin as the backend saw it');
      eq(header?.get('x-reply-header'), ['h'], 'initial metadata x-reply-header');
      eq(trailer?.get('x-reply-trailer'), ['t'], 'trailing metadata x-reply-trailer');
    });

    await c('deadline', async () => {
      eq((await unary(client, 'Sleep', { ms: 10 }, SleepRequest, SleepReply).promise).cancelled, false,
        'a short Sleep first');
      const started = Date.now();
      await expectStatus(unary(client, 'Sleep', { ms: 5000 }, SleepRequest, SleepReply,
        { options: { deadline: Date.now() + 300 } }).promise, grpc.status.DEADLINE_EXCEEDED, 'Sleep 5 s');
      ok(Date.now() - started < 4000, `deadline took ${Date.now() - started} ms`);
    });

    await c('cancel a server stream', async () => {
      const stream = client.makeServerStreamRequest(PREFIX + 'ServerStream', StreamRequest.serialize,
        StreamReply.deserialize, { message: 'slow', repeat: 50, intervalMs: 200 });
      stream.once('data', () => stream.cancel());
      const err = await expectStatus(collect(stream), grpc.status.CANCELLED, 'cancelled stream');
      eq(err.got, [['slow', 0]], 'replies before the cancel');
    });

    await c('cancel a unary call', async () => {
      const { call, promise } = unary(client, 'Sleep', { ms: 5000 }, SleepRequest, SleepReply);
      setTimeout(() => call.cancel(), 200);
      await expectStatus(promise, grpc.status.CANCELLED, 'cancelled Sleep');
      // The connection stays usable after RST_STREAM.
      const reply = await unary(client, 'Echo', { fString: 'after' }, AllTypes, AllTypes).promise;
      eq(reply.fString, 'after', 'call after the cancel');
    });

    await c('unknown service is UNIMPLEMENTED', async () => {
      let err;
      await new Promise((resolve) => {
        client.makeUnaryRequest('/nope.v1.Nope/Call', Empty.serialize, Empty.deserialize, {},
          (e) => { err = e; resolve(); });
      });
      eq(err?.code, grpc.status.UNIMPLEMENTED, `status (${err?.details})`);
    });
  } finally {
    client.close();
  }
}

main(async () => {
  await runChannel('h2c', PLAIN, grpc.credentials.createInsecure());
  if (TLS) {
    await runChannel('TLS', TLS, grpc.credentials.createSsl(CA));
  } else {
    suite.notRun('TLS', 'Portico with tls did not start (see portico_tls.log)');
  }
  suite.finish();
});
