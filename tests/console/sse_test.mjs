// Unit tests of the console's event-stream and NDJSON readers (http/console/sse.js), run by
// node's built-in test runner: node --test tests/console/sse_test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents, readLines } from '../../http/console/sse.js';

// A body delivering `chunks` one read at a time (split anywhere, as the network does).
function body(chunks) {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

test('events split across chunks, CRLF and CR line ends, comments, multi-line data', async () => {
  const events = [];
  await readEvents(body([
    'data: {"a"', ':1}\n\n',
    ': keep-alive\r\n\r\n',
    'data: one\r', '\ndata: two\r\n\r\n',
    'event: end\rdata: {"code":0}\r\r',
    'event: error\ndata: {"code":14}\n',  // no blank line at the end: dispatched at EOF
  ]), (e) => events.push(e));
  assert.deepEqual(events, [
    { event: 'message', data: '{"a":1}' },
    { event: 'message', data: 'one\ntwo' },
    { event: 'end', data: '{"code":0}' },
    { event: 'error', data: '{"code":14}' },
  ]);
});

test('an event without data is not dispatched; multi-byte text split mid-character', async () => {
  const events = [];
  const bytes = new TextEncoder().encode('data: héllo ✓\n\nevent: ping\n\n');
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
      controller.close();
    },
  });
  await readEvents(stream, (e) => events.push(e));
  assert.deepEqual(events, [{ event: 'message', data: 'héllo ✓' }]);
});

test('NDJSON lines', async () => {
  const lines = [];
  await readLines(body(['{"result":', '1}\n\n{"result":2}\n{"error":', '{}}']), (l) => lines.push(l));
  assert.deepEqual(lines, ['{"result":1}', '{"result":2}', '{"error":{}}']);
});
