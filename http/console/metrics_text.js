// Parser for the Prometheus text exposition format (version 0.0.4) and the few computations the
// charts need: summing counters over labels, rates between two scrapes, and histogram quantiles.
// Pure functions, no DOM: tests/console/metrics_text_test.mjs runs them in node.
//
// Robustness: a malformed line is skipped (and counted in `errors`), never thrown; label values
// keep their escapes decoded (\\, \", \n); NaN, +Inf and -Inf values are numbers; a timestamp
// after the value is ignored; CRLF line ends and blank lines are accepted.

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parseValue(text) {
  switch (text) {
    case '+Inf': case 'Inf': case '+inf': case 'inf': return Infinity;
    case '-Inf': case '-inf': return -Infinity;
    case 'NaN': case 'nan': return NaN;
    default: {
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
      return Number(text);
    }
  }
}

// Parses `{a="x",b="y"}` starting at text[i] === '{'. Returns [labels, index after '}'] or null.
function parseLabels(text, i) {
  const labels = {};
  i += 1;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i += 1;
    if (text[i] === '}') return [labels, i + 1];
    const m = LABEL_NAME.exec(text.slice(i));
    if (!m) return null;
    const name = m[0];
    i += name.length;
    while (text[i] === ' ') i += 1;
    if (text[i] !== '=') return null;
    i += 1;
    while (text[i] === ' ') i += 1;
    if (text[i] !== '"') return null;
    i += 1;
    let value = '';
    for (;;) {
      if (i >= text.length) return null;
      const c = text[i];
      if (c === '\\') {
        const next = text[i + 1];
        value += next === 'n' ? '\n' : next === undefined ? '' : next;
        i += 2;
      } else if (c === '"') {
        i += 1;
        break;
      } else {
        value += c;
        i += 1;
      }
    }
    labels[name] = value;
    while (text[i] === ' ') i += 1;
    if (text[i] === ',') {
      i += 1;
    } else if (text[i] !== '}') {
      return null;
    }
  }
}

// Parses one sample line. Returns {name, labels, value} or null when malformed.
export function parseSample(line) {
  const m = NAME.exec(line);
  if (!m) return null;
  const name = m[0];
  let i = name.length;
  let labels = {};
  while (line[i] === ' ' || line[i] === '\t') i += 1;
  if (line[i] === '{') {
    const parsed = parseLabels(line, i);
    if (!parsed) return null;
    [labels, i] = parsed;
  }
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') return null;
  const value = parseValue(rest[0]);
  if (value === undefined) return null;
  return { name, labels, value };
}

// The family a sample belongs to: histogram and summary series carry suffixes.
function familyOf(name, types) {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.has(base)) return base;
    }
  }
  return name;
}

// parse(text) -> {families: Map<name, {name, type, help, samples: [{name, labels, value}]}>,
//                 samples: [...all samples in order], errors: <count of malformed lines>}
export function parse(text) {
  const families = new Map();
  const types = new Map();
  const samples = [];
  let errors = 0;
  const family = (name) => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: types.get(name) || 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const raw of String(text).split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(.*)$/.exec(line);
      if (!m) continue;  // any other comment
      if (m[1] === 'TYPE') {
        types.set(m[2], m[3].trim() || 'untyped');
        family(m[2]).type = types.get(m[2]);
      } else {
        family(m[2]).help = m[3].replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      continue;
    }
    const sample = parseSample(line);
    if (!sample) {
      errors += 1;
      continue;
    }
    samples.push(sample);
    family(familyOf(sample.name, types)).samples.push(sample);
  }
  return { families, samples, errors };
}

// Samples named `name` whose labels include every pair of `match`.
export function select(parsed, name, match = {}) {
  return parsed.samples.filter((s) => s.name === name &&
    Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

// Sum of the values of `name` grouped by the label `by` (or all together when by is null):
// Map<labelValue|'', sum>.
export function sumBy(parsed, name, by = null, match = {}) {
  const out = new Map();
  for (const s of select(parsed, name, match)) {
    if (Number.isNaN(s.value)) continue;
    const key = by ? (s.labels[by] ?? '') : '';
    out.set(key, (out.get(key) || 0) + s.value);
  }
  return out;
}

// Histogram buckets of `name` (the family, without _bucket) summed per `le`, grouped by `by`:
// Map<labelValue|'', [{le: Number, count: Number}] sorted by le>.
export function bucketsBy(parsed, name, by = null, match = {}) {
  const groups = new Map();
  for (const s of select(parsed, `${name}_bucket`, match)) {
    const le = parseValue(s.labels.le ?? '');
    if (le === undefined || Number.isNaN(le) || Number.isNaN(s.value)) continue;
    const key = by ? (s.labels[by] ?? '') : '';
    let perLe = groups.get(key);
    if (!perLe) groups.set(key, (perLe = new Map()));
    perLe.set(le, (perLe.get(le) || 0) + s.value);
  }
  const out = new Map();
  for (const [key, perLe] of groups) {
    out.set(key, [...perLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le));
  }
  return out;
}

// Per-bucket difference of two cumulative bucket lists (a later scrape minus an earlier one), so
// quantiles describe the last interval rather than all time. A counter reset (negative
// difference) falls back to the later scrape's values.
export function bucketDelta(later, earlier) {
  if (!earlier) return later;
  const before = new Map(earlier.map((b) => [b.le, b.count]));
  const delta = later.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) || 0) }));
  return delta.some((b) => b.count < 0) ? later : delta;
}

// The q-quantile (0..1) of cumulative buckets, interpolated linearly inside the bucket as
// Prometheus' histogram_quantile does. null when there are no observations.
export function histogramQuantile(q, buckets) {
  if (!buckets || buckets.length === 0) return null;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted[sorted.length - 1].count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;  // beyond the last finite bound: its bound is all we know
      const inBucket = b.count - prevCount;
      if (inBucket <= 0) return b.le;
      const lower = prevLe > 0 || sorted[0] !== b ? prevLe : 0;
      return lower + (b.le - lower) * ((rank - prevCount) / inBucket);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

// Per-second rate between two values taken `seconds` apart; a counter reset gives the later
// value over the interval (as Prometheus' rate() does); null without an earlier value.
export function rate(later, earlier, seconds) {
  if (earlier === undefined || earlier === null || !(seconds > 0)) return null;
  const delta = later >= earlier ? later - earlier : later;
  return delta / seconds;
}
