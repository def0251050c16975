// Line charts on <canvas>: a rolling window of points per series, redrawn on every push and on
// resize. Each chart also keeps a text legend with the latest values (screen readers and
// colour-blind users read the numbers, not the lines).
import { h, replace } from './dom.js';

const COLOURS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#be185d',
                 '#4b5563'];

export class LineChart {
  // title: heading; format(v) -> text for axis and legend; capacity: points kept per series.
  constructor(title, { format = (v) => String(v), capacity = 90 } = {}) {
    this.format = format;
    this.capacity = capacity;
    this.series = new Map();  // name -> {values: [], colour}
    this.times = [];
    this.canvas = h('canvas', { class: 'chart-canvas', role: 'img', 'aria-label': title });
    this.legend = h('ul', { class: 'chart-legend' });
    this.element = h('figure', { class: 'chart' },
                     h('figcaption', {}, title), this.canvas, this.legend);
    if (typeof ResizeObserver !== 'undefined') {
      new ResizeObserver(() => this.draw()).observe(this.canvas);
    }
  }

  // values: Map<seriesName, number|null> for one instant.
  push(time, values) {
    this.times.push(time);
    for (const [name, value] of values) {
      if (!this.series.has(name)) {
        const colour = COLOURS[this.series.size % COLOURS.length];
        this.series.set(name, { values: new Array(this.times.length - 1).fill(null), colour });
      }
    }
    for (const [name, s] of this.series) s.values.push(values.has(name) ? values.get(name) : null);
    if (this.times.length > this.capacity) {
      this.times.shift();
      for (const s of this.series.values()) s.values.shift();
    }
    // Series that have had no value for the whole window go away.
    for (const [name, s] of this.series) {
      if (s.values.every((v) => v === null || v === undefined)) this.series.delete(name);
    }
    this.draw();
    this.renderLegend();
  }

  renderLegend() {
    const items = [];
    for (const [name, s] of this.series) {
      const last = s.values[s.values.length - 1];
      const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.dataset.colour = s.colour;
      items.push(h('li', {}, swatch, h('span', { class: 'series-name' }, name || '(all)'), ': ',
                   h('strong', {}, last === null || last === undefined ? '–' : this.format(last))));
    }
    if (items.length === 0) items.push(h('li', {}, 'No data yet.'));
    replace(this.legend, items);
    // Swatch colours through the CSSOM (no style attributes: the CSP forbids inline styles).
    for (const swatch of this.legend.querySelectorAll('.swatch')) {
      swatch.style.backgroundColor = swatch.dataset.colour;
    }
  }

  draw() {
    const canvas = this.canvas;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) return;
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const styles = getComputedStyle(canvas);
    const ink = styles.color || '#222';
    const font = `11px ${styles.fontFamily || 'sans-serif'}`;
    let max = 0;
    for (const s of this.series.values()) {
      for (const v of s.values) if (typeof v === 'number' && Number.isFinite(v)) max = Math.max(max, v);
    }
    if (max === 0) max = 1;
    max *= 1.1;
    const left = 56;
    const right = 8;
    const top = 8;
    const bottom = 18;
    const plotW = Math.max(10, width - left - right);
    const plotH = Math.max(10, height - top - bottom);
    ctx.font = font;
    ctx.fillStyle = ink;
    ctx.strokeStyle = 'rgba(128,128,128,0.35)';
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let i = 0; i <= 4; i += 1) {
      const y = top + plotH - (plotH * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, y + 0.5);
      ctx.lineTo(left + plotW, y + 0.5);
      ctx.stroke();
      ctx.fillText(this.format((max * i) / 4), left - 4, y);
    }
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    const span = this.capacity - 1;
    ctx.fillText(`last ${Math.round((span * 2) / 60)} min`, left, height - 4);
    const n = this.times.length;
    for (const s of this.series.values()) {
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      let pen = false;
      s.values.forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          pen = false;
          return;
        }
        const x = left + plotW - ((n - 1 - i) * plotW) / span;
        const y = top + plotH - (v / max) * plotH;
        if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        pen = true;
      });
      ctx.stroke();
    }
  }
}

export function formatRate(v) {
  if (v === 0) return '0/s';
  if (v >= 100) return `${v.toFixed(0)}/s`;
  if (v >= 10) return `${v.toFixed(1)}/s`;
  return `${v.toFixed(2)}/s`;
}

export function formatSeconds(v) {
  if (v === 0) return '0 s';
  if (v >= 1) return `${v.toFixed(2)} s`;
  if (v >= 0.001) return `${(v * 1000).toFixed(1)} ms`;
  return `${(v * 1e6).toFixed(0)} µs`;
}
