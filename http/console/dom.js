// Small DOM helpers shared by the views. Everything is built with createElement and textContent,
// never innerHTML, so text from the server (comments, errors, replies) is never parsed as HTML.

// h('div', {class: 'x', onclick: fn}, child, 'text', [more]) -> element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== 'string') {
      el[key] = value;  // properties such as checked, value, disabled
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

let idCounter = 0;
// A document-unique id for label/aria wiring.
export function uid(prefix = 'c') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A status line: text always says what happened (colour only helps).
export function notice(kind, text) {
  const prefix = kind === 'error' ? 'Error: ' : kind === 'ok' ? 'OK: ' : '';
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
           prefix + text);
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

// A .proto comment as prose: its hard-wrapped lines joined; blank lines stay paragraph breaks.
export function prose(text) {
  return String(text || '').replace(/[ \t]*\n(?!\n)[ \t]*/g, (m, offset, s) => (s[offset - 1] === '\n' ? '\n' : ' ')).trim();
}
