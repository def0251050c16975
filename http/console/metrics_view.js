// Live charts from /metrics, polled every 2 s while shown: request rate and latency (p50 and
// p99 from the histogram buckets of the last interval), overall and per route.
import { h, replace, notice } from './dom.js';
import { getText } from './api.js';
import { parse, sumBy, bucketsBy, bucketDelta, histogramQuantile, rate } from './metrics_text.js';
import { LineChart, formatRate, formatSeconds } from './charts.js';

const REQUESTS = 'portico_http_requests_total';
const LATENCY = 'portico_http_request_duration_seconds';
const POLL_MS = 2000;
const MAX_ROUTES = 6;  // per-route charts show the busiest few

export class MetricsView {
  constructor() {
    this.rateChart = new LineChart('Requests per second (all routes)', { format: formatRate });
    this.latencyChart = new LineChart('Latency (all routes): p50 and p99', { format: formatSeconds });
    this.routeRateChart = new LineChart('Requests per second by route', { format: formatRate });
    this.routeP99Chart = new LineChart('p99 latency by route', { format: formatSeconds });
    this.status = h('div', { 'aria-live': 'polite' });
    this.table = h('div', { class: 'table-wrap' });
    this.previous = null;
    this.timer = null;
    this.element = h('section', { class: 'view', 'aria-labelledby': 'metrics-heading' },
      h('h2', { id: 'metrics-heading', tabindex: '-1' }, 'Live metrics'),
      h('p', { class: 'hint' }, 'From /metrics every 2 s; latency quantiles are estimated from the histogram buckets of each interval.'),
      this.status,
      h('div', { class: 'charts' }, this.rateChart.element, this.latencyChart.element,
        this.routeRateChart.element, this.routeP99Chart.element),
      h('h3', {}, 'By route (last interval)'), this.table);
  }

  show() {
    if (this.timer) return;
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async poll() {
    let text;
    try {
      text = await getText('/metrics');
    } catch (e) {
      replace(this.status, notice('error', `Cannot read /metrics: ${e.message}`));
      return;
    }
    replace(this.status);
    const now = performance.now();
    const parsed = parse(text);
    const current = {
      time: now,
      total: sumBy(parsed, REQUESTS).get('') || 0,
      byRoute: sumBy(parsed, REQUESTS, 'route'),
      buckets: bucketsBy(parsed, LATENCY).get('') || [],
      routeBuckets: bucketsBy(parsed, LATENCY, 'route'),
    };
    const prev = this.previous;
    this.previous = current;
    if (!prev) return;  // rates need two scrapes
    const seconds = (now - prev.time) / 1000;
    const overall = bucketDelta(current.buckets, prev.buckets);
    this.rateChart.push(now, new Map([['all routes', rate(current.total, prev.total, seconds)]]));
    this.latencyChart.push(now, new Map([['p50', histogramQuantile(0.5, overall)],
                                         ['p99', histogramQuantile(0.99, overall)]]));
    const rows = [];
    for (const [route, count] of current.byRoute) {
      const r = rate(count, prev.byRoute.get(route) ?? 0, seconds);
      const delta = bucketDelta(current.routeBuckets.get(route) || [], prev.routeBuckets.get(route));
      rows.push({ route, rate: r, total: count, p50: histogramQuantile(0.5, delta), p99: histogramQuantile(0.99, delta) });
    }
    rows.sort((a, b) => b.rate - a.rate || b.total - a.total);
    const busiest = rows.slice(0, MAX_ROUTES);
    this.routeRateChart.push(now, new Map(busiest.map((r) => [r.route, r.rate])));
    this.routeP99Chart.push(now, new Map(busiest.map((r) => [r.route, r.p99])));
    replace(this.table, rows.length ? h('table', {},
      h('thead', {}, h('tr', {}, ['Route', 'Rate', 'p50', 'p99', 'Total'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('th', { scope: 'row' }, h('code', {}, r.route)),
        h('td', {}, formatRate(r.rate)),
        h('td', {}, r.p50 === null ? '–' : formatSeconds(r.p50)),
        h('td', {}, r.p99 === null ? '–' : formatSeconds(r.p99)),
        h('td', {}, String(r.total))))))
      : h('p', {}, 'No data-plane requests yet.'));
  }
}
