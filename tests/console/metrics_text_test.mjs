// Unit tests of the console's Prometheus text parser (http/console/metrics_text.js), run by
// node's built-in test runner: node --test tests/console/metrics_text_test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parse, parseSample, parseValue, sumBy, bucketsBy, bucketDelta, histogramQuantile, rate,
} from '../../http/console/metrics_text.js';

const EXPOSITION = [
  '# HELP portico_http_requests_total Data-plane requests.',
  '# TYPE portico_http_requests_total counter',
  'portico_http_requests_total{route="/v1/hello/{name}",method="greeter.v1.Greeter/SayHello",status_class="2xx",grpc_code="OK"} 7',
  'portico_http_requests_total{route="/v1/hello/{name}",method="greeter.v1.Greeter/SayHello",status_class="5xx",grpc_code="UNAVAILABLE"} 3',
  'portico_http_requests_total{route="other",method="",status_class="4xx",grpc_code="NOT_FOUND"} 2',
  '# TYPE portico_http_request_duration_seconds histogram',
  'portico_http_request_duration_seconds_bucket{route="a",le="0.005"} 2',
  'portico_http_request_duration_seconds_bucket{route="a",le="0.01"} 6',
  'portico_http_request_duration_seconds_bucket{route="a",le="0.1"} 10',
  'portico_http_request_duration_seconds_bucket{route="a",le="+Inf"} 10',
  'portico_http_request_duration_seconds_sum{route="a"} 0.25',
  'portico_http_request_duration_seconds_count{route="a"} 10',
  'portico_http_request_duration_seconds_bucket{route="b",le="0.005"} 0',
  'portico_http_request_duration_seconds_bucket{route="b",le="0.01"} 0',
  'portico_http_request_duration_seconds_bucket{route="b",le="0.1"} 4',
  'portico_http_request_duration_seconds_bucket{route="b",le="+Inf"} 4',
  '',
  'process_resident_memory_bytes 1.2e+07 1700000000000',
  'weird{l="a \\"quoted\\" \\\\ back\\nslash"} NaN',
  'neg -Inf',
  'broken{l="x"',
  'no_value{}',
  '# a free comment',
].join('\r\n');

test('values: numbers, exponents, infinities, NaN; garbage is undefined', () => {
  assert.equal(parseValue('1.5'), 1.5);
  assert.equal(parseValue('-2e3'), -2000);
  assert.equal(parseValue('+Inf'), Infinity);
  assert.equal(parseValue('-Inf'), -Infinity);
  assert.ok(Number.isNaN(parseValue('NaN')));
  assert.equal(parseValue('12abc'), undefined);
  assert.equal(parseValue(''), undefined);
});

test('samples: labels with escapes, spaces, timestamps; malformed lines are null', () => {
  assert.deepEqual(parseSample('a_b:c{x="1", y = "two"} 3 123'),
                   { name: 'a_b:c', labels: { x: '1', y: 'two' }, value: 3 });
  assert.deepEqual(parseSample('m{l="a\\"b\\\\c\\nd"} 1').labels, { l: 'a"b\\c\nd' });
  assert.deepEqual(parseSample('m{l="a,}b"} 1').labels, { l: 'a,}b' });
  assert.deepEqual(parseSample('m{l="x",} 1').labels, { l: 'x' });
  assert.equal(parseSample('m{l="x"'), null);
  assert.equal(parseSample('m{l=x} 1'), null);
  assert.equal(parseSample('m 1 2 3'), null);
  assert.equal(parseSample('{l="x"} 1'), null);
  assert.equal(parseSample('m'), null);
});

test('families, types, help and the error count', () => {
  const parsed = parse(EXPOSITION);
  assert.equal(parsed.errors, 2);  // broken{..., no_value{}
  const requests = parsed.families.get('portico_http_requests_total');
  assert.equal(requests.type, 'counter');
  assert.equal(requests.help, 'Data-plane requests.');
  assert.equal(requests.samples.length, 3);
  const histogram = parsed.families.get('portico_http_request_duration_seconds');
  assert.equal(histogram.type, 'histogram');
  assert.equal(histogram.samples.length, 10);  // buckets, _sum and _count gathered under the family
  assert.equal(parsed.families.get('process_resident_memory_bytes').samples[0].value, 12e6);
  assert.ok(Number.isNaN(parsed.families.get('weird').samples[0].value));
  assert.equal(parsed.families.get('weird').samples[0].labels.l, 'a "quoted" \\ back\nslash');
  assert.equal(parsed.families.get('neg').samples[0].value, -Infinity);
});

test('sums by label', () => {
  const parsed = parse(EXPOSITION);
  assert.equal(sumBy(parsed, 'portico_http_requests_total').get(''), 12);
  const byRoute = sumBy(parsed, 'portico_http_requests_total', 'route');
  assert.equal(byRoute.get('/v1/hello/{name}'), 10);
  assert.equal(byRoute.get('other'), 2);
  const errors = sumBy(parsed, 'portico_http_requests_total', null, { status_class: '5xx' });
  assert.equal(errors.get(''), 3);
});

test('histogram quantiles interpolate inside the bucket', () => {
  const parsed = parse(EXPOSITION);
  const all = bucketsBy(parsed, 'portico_http_request_duration_seconds').get('');
  assert.deepEqual(all.map((b) => b.count), [2, 6, 14, 14]);
  const a = bucketsBy(parsed, 'portico_http_request_duration_seconds', 'route').get('a');
  // rank 5 of 10 lies in (0.005, 0.01] holding 4 (from 2 to 6): 0.005 + 0.005 * 3/4.
  assert.ok(Math.abs(histogramQuantile(0.5, a) - 0.00875) < 1e-12);
  // rank 9.9 lies in (0.01, 0.1] holding 4 (from 6 to 10): 0.01 + 0.09 * 3.9/4.
  assert.ok(Math.abs(histogramQuantile(0.99, a) - (0.01 + 0.09 * 3.9 / 4)) < 1e-12);
  // The first bucket interpolates from 0.
  assert.ok(Math.abs(histogramQuantile(0.1, a) - 0.0025) < 1e-12);
  assert.equal(histogramQuantile(0.5, [{ le: 0.1, count: 0 }, { le: Infinity, count: 0 }]), null);
  assert.equal(histogramQuantile(0.5, []), null);
  // Everything above the last finite bound: that bound is the answer.
  assert.equal(histogramQuantile(0.5, [{ le: 0.1, count: 0 }, { le: Infinity, count: 5 }]), 0.1);
});

test('bucket deltas and rates between scrapes, counter resets', () => {
  const earlier = [{ le: 0.1, count: 2 }, { le: Infinity, count: 3 }];
  const later = [{ le: 0.1, count: 5 }, { le: Infinity, count: 9 }];
  assert.deepEqual(bucketDelta(later, earlier), [{ le: 0.1, count: 3 }, { le: Infinity, count: 6 }]);
  assert.deepEqual(bucketDelta(earlier, later), earlier);  // reset: the later scrape alone
  assert.deepEqual(bucketDelta(later, undefined), later);
  assert.equal(rate(30, 10, 2), 10);
  assert.equal(rate(4, 10, 2), 2);  // reset
  assert.equal(rate(4, undefined, 2), null);
});

test('no input throws', () => {
  for (const text of ['', '\n\n', '{', '#', '# TYPE', 'a{', 'a{b="', 'a{b="\\', '\u0000', 'x'.repeat(10000)]) {
    assert.doesNotThrow(() => parse(text));
  }
});
