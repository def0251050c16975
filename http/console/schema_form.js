// A form generated from a message's JSON schema (components.schemas of /admin/openapi.json):
// scalars with fitting inputs, enums as selects, repeated fields and maps as rows one adds and
// removes, nested messages as fieldsets, oneofs as a choice, well-known types as text with hints.
// Recursion is safe: a nested message below the first levels, or one already open above, starts
// folded behind an "Add" button and is built only when asked for.
//
// buildForm(schemas, messageName) -> {element, get(), set(value)}: get() gives the proto3 JSON
// of what is filled in (empty fields left out; throws FormError for text that is not valid JSON
// in a JSON field), set(value) fills the form from such JSON (unknown keys are ignored).
import { h, uid, prose } from './dom.js';
import { resolve, mainType, nonNullAlternative, typeLabel } from './catalog.js';

export class FormError extends Error {}

const EAGER_DEPTH = 2;   // nested messages deeper than this start folded
const MAX_DEPTH = 12;    // beyond this, a JSON text field (even if unfolded by hand)

const WKT_HINTS = {
  'google.protobuf.Timestamp': ['text', 'RFC 3339 time, e.g. 2026-01-02T15:04:05Z'],
  'google.protobuf.Duration': ['text', 'seconds with an "s", e.g. 1.5s'],
  'google.protobuf.FieldMask': ['text', 'field paths separated by commas, e.g. name,address.city'],
  'google.protobuf.Struct': ['json', 'a JSON object'],
  'google.protobuf.Value': ['json', 'any JSON value'],
  'google.protobuf.ListValue': ['json', 'a JSON array'],
  'google.protobuf.Any': ['json', 'a JSON object with "@type", e.g. {"@type": "type.googleapis.com/pkg.Msg", ...}'],
};

const changed = (el) => el.dispatchEvent(new Event('input', { bubbles: true }));
const isEmpty = (v) => v === undefined ||
  (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);

export function buildForm(schemas, messageName) {
  const ctx = { schemas };
  const node = messageNode(ctx, { $ref: `#/components/schemas/${messageName}` },
                           messageName, 0, [], true);
  const element = h('div', { class: 'schema-form' }, node.element);
  return {
    element,
    get: () => {
      const v = node.get();
      return v === undefined ? {} : v;
    },
    set: (value) => node.set(value && typeof value === 'object' ? value : {}),
  };
}

// Chooses the node for one schema (a property's, an array's items, a map's values).
function nodeFor(ctx, schema, label, depth, ancestors, hint) {
  const alt = nonNullAlternative(schema || {});
  if (alt) return nodeFor(ctx, alt, label, depth, ancestors, hint);
  const { schema: s, name } = resolve(ctx.schemas, schema);
  if (name && WKT_HINTS[name]) {
    const [kind, wktHint] = WKT_HINTS[name];
    return kind === 'json' ? jsonNode(label, wktHint) : textNode(label, wktHint, 'text');
  }
  if (name === 'google.protobuf.Empty') return emptyNode(label);
  if (Array.isArray(s.enum)) return enumNode(label, s, name, hint);
  const type = mainType(s);
  if (type === 'array') return listNode(ctx, s, label, depth, ancestors);
  if (type === 'object' && s.properties && typeof s.properties === 'object') {
    return messageNode(ctx, schema, label, depth, ancestors, false);
  }
  if (type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    return mapNode(ctx, s, label, depth, ancestors);
  }
  if (type === 'object') return jsonNode(label, hint || 'a JSON object');
  if (type === 'boolean') return boolNode(label, hint);
  if (type === 'integer') return numberNode(label, hint, true, s.format);
  if (type === 'number') return numberNode(label, hint, false, s.format);
  if (type === 'string') {
    if (s.format === 'int64' || s.format === 'uint64') {
      return textNode(label, hint || `${s.format} (a decimal string)`, 'int64');
    }
    if (s.contentEncoding === 'base64' || s.format === 'byte') {
      return textNode(label, hint || 'bytes, base64-encoded', 'text');
    }
    if (s.format === 'date-time') return textNode(label, hint || 'RFC 3339 time', 'text');
    return textNode(label, hint, 'text');
  }
  return jsonNode(label, hint || 'any JSON value');
}

function describe(el, rawHint) {
  const hint = prose(rawHint);
  if (!hint) return null;
  const id = uid('hint');
  el.setAttribute('aria-describedby', id);
  return h('span', { class: 'hint', id }, hint);
}

function textNode(label, hint, kind) {
  const input = h('input', { type: 'text', id: uid('f'), autocomplete: 'off', spellcheck: 'false' });
  if (kind === 'int64') {
    input.inputMode = 'numeric';
    input.pattern = '-?[0-9]+';
  }
  const element = h('div', { class: 'field' }, h('label', { for: input.id }, label), input,
                    describe(input, hint));
  return {
    element,
    get: () => (input.value === '' ? undefined : input.value),
    set: (v) => { input.value = v === undefined || v === null ? '' : String(v); },
  };
}

function numberNode(label, hint, integer, format) {
  const input = h('input', { type: 'number', id: uid('f'), step: integer ? '1' : 'any',
                             inputmode: integer ? 'numeric' : 'decimal' });
  const element = h('div', { class: 'field' }, h('label', { for: input.id }, label), input,
                    describe(input, hint || (integer ? format || 'integer' : format || 'number')));
  return {
    element,
    get: () => {
      if (input.value === '') return undefined;
      const n = Number(input.value);
      return Number.isNaN(n) ? input.value : n;
    },
    set: (v) => { input.value = v === undefined || v === null ? '' : String(v); },
  };
}

function boolNode(label, hint) {
  const input = h('input', { type: 'checkbox', id: uid('f') });
  const element = h('div', { class: 'field field-check' }, input,
                    h('label', { for: input.id }, label), describe(input, hint));
  return {
    element,
    get: () => (input.checked ? true : undefined),
    set: (v) => { input.checked = v === true || v === 'true'; },
  };
}

function enumNode(label, schema, name, hint) {
  const select = h('select', { id: uid('f') },
                   h('option', { value: '' }, '(default)'),
                   schema.enum.map((v) => h('option', { value: String(v) }, String(v))));
  const element = h('div', { class: 'field' }, h('label', { for: select.id }, label), select,
                    describe(select, hint || (name ? `enum ${name}` : 'enum')));
  return {
    element,
    get: () => (select.value === '' ? undefined : select.value),
    set: (v) => {
      const text = v === undefined || v === null ? '' : String(v);
      select.value = [...select.options].some((o) => o.value === text) ? text : '';
    },
  };
}

function jsonNode(label, hint) {
  const area = h('textarea', { id: uid('f'), rows: 3, spellcheck: 'false', class: 'code' });
  const element = h('div', { class: 'field' }, h('label', { for: area.id }, label), area,
                    describe(area, `${hint} (JSON)`));
  return {
    element,
    get: () => {
      if (area.value.trim() === '') return undefined;
      try {
        return JSON.parse(area.value);
      } catch (e) {
        throw new FormError(`${label}: not valid JSON (${e.message})`);
      }
    },
    set: (v) => { area.value = v === undefined ? '' : JSON.stringify(v, null, 2); },
  };
}

function emptyNode(label) {
  return { element: h('p', { class: 'hint' }, `${label}: google.protobuf.Empty (no fields)`),
           get: () => undefined, set: () => {} };
}

function listNode(ctx, schema, label, depth, ancestors) {
  const items = [];
  const list = h('ol', { class: 'rows' });
  const itemType = typeLabel(ctx.schemas, schema.items);
  const add = (value) => {
    const index = items.length;
    const node = nodeFor(ctx, schema.items || {}, `${label} [${index + 1}]`, depth + 1, ancestors);
    const entry = { node };
    entry.row = h('li', { class: 'row' }, node.element,
                  removeButton(`Remove ${label} item`, items, entry, list));
    items.push(entry);
    list.append(entry.row);
    if (value !== undefined) node.set(value);
    return entry;
  };
  const addButton = h('button', { type: 'button', class: 'small',
                                  onclick: () => {
                                    const entry = add();
                                    changed(list);
                                    const first = entry.row.querySelector('input, select, textarea, button');
                                    if (first) first.focus();
                                  } }, `Add ${label} item`);
  const element = h('fieldset', { class: 'group' },
                    h('legend', {}, `${label} `, h('span', { class: 'type' }, `repeated ${itemType}`)),
                    list, addButton);
  return {
    element,
    get: () => {
      const out = items.map((e) => e.node.get()).filter((v) => v !== undefined);
      return out.length ? out : undefined;
    },
    set: (v) => {
      for (const e of items.splice(0)) e.row.remove();
      if (Array.isArray(v)) v.forEach((x) => add(x));
    },
  };
}

// The Remove button of one row of a repeated field or map: drops `entry` from `entries` and
// its row from `list`.
function removeButton(ariaLabel, entries, entry, list) {
  return h('button', { type: 'button', class: 'small secondary', 'aria-label': ariaLabel,
                       onclick: () => {
                         entries.splice(entries.indexOf(entry), 1);
                         entry.row.remove();
                         changed(list);
                       } }, 'Remove');
}

function mapNode(ctx, schema, label, depth, ancestors) {
  const rows = [];
  const list = h('ol', { class: 'rows' });
  const add = (key, value) => {
    const keyInput = h('input', { type: 'text', id: uid('f'), autocomplete: 'off' });
    const node = nodeFor(ctx, schema.additionalProperties, `${label} value`, depth + 1, ancestors);
    const entry = { keyInput, node };
    entry.row = h('li', { class: 'row map-row' },
                  h('div', { class: 'field' }, h('label', { for: keyInput.id }, `${label} key`), keyInput),
                  node.element, removeButton(`Remove ${label} entry`, rows, entry, list));
    rows.push(entry);
    list.append(entry.row);
    if (key !== undefined) keyInput.value = key;
    if (value !== undefined) node.set(value);
    return entry;
  };
  const addButton = h('button', { type: 'button', class: 'small',
                                  onclick: () => {
                                    const entry = add();
                                    changed(list);
                                    entry.keyInput.focus();
                                  } }, `Add ${label} entry`);
  const element = h('fieldset', { class: 'group' },
                    h('legend', {}, `${label} `,
                      h('span', { class: 'type' }, typeLabel(ctx.schemas, schema))),
                    list, addButton);
  return {
    element,
    get: () => {
      const out = {};
      for (const r of rows) {
        const value = r.node.get();
        if (r.keyInput.value !== '') out[r.keyInput.value] = value === undefined ? defaultOf(ctx, schema.additionalProperties) : value;
      }
      return Object.keys(out).length ? out : undefined;
    },
    set: (v) => {
      for (const r of rows.splice(0)) r.row.remove();
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) add(k, x);
    },
  };
}

// A map value must be present even when it is the default ("" or 0 or {}).
function defaultOf(ctx, schema) {
  const { schema: s } = resolve(ctx.schemas, schema);
  const type = mainType(s);
  if (Array.isArray(s.enum)) return s.enum[0];
  if (type === 'string') return '';
  if (type === 'integer' || type === 'number') return 0;
  if (type === 'boolean') return false;
  return {};
}

// top: the form's own message or an unfolded one (no fieldset of its own; never left out);
// prefix: the field path its fields' labels start with ('' for the request itself).
function messageNode(ctx, schema, label, depth, ancestors, top, prefix = '') {
  const { schema: s, name } = resolve(ctx.schemas, schema);
  const recursive = name !== null && ancestors.includes(name);
  if (depth > MAX_DEPTH) return jsonNode(label, `${name || 'message'} (nested too deep for a form)`);
  if (!top && (recursive || depth >= EAGER_DEPTH)) return foldedNode(ctx, schema, label, depth, ancestors, name);
  const inner = ancestors.concat(name ? [name] : []);
  const props = s.properties && typeof s.properties === 'object' ? s.properties : {};
  const oneofs = s['x-portico-oneofs'] && typeof s['x-portico-oneofs'] === 'object' ? s['x-portico-oneofs'] : {};
  const inOneof = new Map();
  for (const [group, members] of Object.entries(oneofs)) {
    if (Array.isArray(members)) for (const m of members) inOneof.set(m, group);
  }
  const nodes = new Map();
  const body = [];
  if (s.description) body.push(h('p', { class: 'description' }, prose(s.description)));
  const doneGroups = new Set();
  for (const [key, prop] of Object.entries(props)) {
    const group = inOneof.get(key);
    if (group !== undefined) {
      if (doneGroups.has(group)) continue;
      doneGroups.add(group);
      body.push(oneofNode(ctx, group, oneofs[group].filter((m) => m in props), props, depth, inner, nodes,
                          top ? (prefix ? `${prefix}.` : '') : `${label}.`));
      continue;
    }
    const path = top ? (prefix ? `${prefix}.${key}` : key) : `${label}.${key}`;
    const node = nodeFor(ctx, prop, path, depth + 1, inner, prop && prop.description);
    nodes.set(key, node);
    body.push(node.element);
  }
  if (Object.keys(props).length === 0) body.push(h('p', { class: 'hint' }, 'No fields.'));
  const element = top
    ? h('div', { class: 'message' }, body)
    : h('fieldset', { class: 'group' },
        h('legend', {}, `${label} `, h('span', { class: 'type' }, name || 'message')), body);
  return {
    element,
    get: () => {
      const out = {};
      for (const [key, node] of nodes) {
        if (node.hidden) continue;
        const v = node.get();
        if (v !== undefined) out[key] = v;
      }
      return Object.keys(out).length || top ? out : undefined;
    },
    set: (v) => {
      const value = v && typeof v === 'object' ? v : {};
      for (const [key, node] of nodes) node.set(value[key]);
      for (const choose of element.querySelectorAll(':scope > .oneof > .field > select.oneof-choice')) {
        choose.syncFromValue(value);
      }
    },
  };
}

// A oneof: a select naming which member is set, and that member's field.
function oneofNode(ctx, group, members, props, depth, ancestors, nodes, prefix) {
  const select = h('select', { id: uid('f'), class: 'oneof-choice' },
                   h('option', { value: '' }, '(none)'),
                   members.map((m) => h('option', { value: m }, m)));
  const slots = h('div', { class: 'oneof-slot' });
  const memberNodes = new Map();
  for (const m of members) {
    const node = nodeFor(ctx, props[m], `${prefix}${m}`, depth + 1, ancestors, props[m] && props[m].description);
    node.hidden = true;
    node.element.hidden = true;
    memberNodes.set(m, node);
    nodes.set(m, node);
    slots.append(node.element);
  }
  const show = () => {
    for (const [m, node] of memberNodes) {
      node.hidden = m !== select.value;
      node.element.hidden = node.hidden;
    }
  };
  select.addEventListener('change', show);
  select.syncFromValue = (value) => {
    const present = members.find((m) => value[m] !== undefined);
    select.value = present || '';
    show();
  };
  return h('fieldset', { class: 'group oneof' },
           h('legend', {}, `oneof ${group}`),
           h('div', { class: 'field' }, h('label', { for: select.id }, `Which ${prefix}${group} field`), select),
           slots);
}

// A nested message built only on request (recursion and depth guard).
function foldedNode(ctx, schema, label, depth, ancestors, name) {
  let node = null;
  const slot = h('div', { class: 'folded-slot' });
  const toggle = h('button', { type: 'button', class: 'small', 'aria-expanded': 'false' },
                   `Add ${label} (${name || 'message'})`);
  const open = (value) => {
    node = messageNode(ctx, schema, label, depth, ancestors, true, label);
    // Built as a top-level message of its own: its nested fields start folded again.
    const box = h('fieldset', { class: 'group' },
                  h('legend', {}, `${label} `, h('span', { class: 'type' }, name || 'message')),
                  node.element);
    slot.replaceChildren(box);
    toggle.textContent = `Remove ${label}`;
    toggle.setAttribute('aria-expanded', 'true');
    if (value !== undefined) node.set(value);
  };
  const close = () => {
    node = null;
    slot.replaceChildren();
    toggle.textContent = `Add ${label} (${name || 'message'})`;
    toggle.setAttribute('aria-expanded', 'false');
  };
  toggle.addEventListener('click', () => {
    if (node) close(); else open();
    changed(toggle);
  });
  return {
    element: h('div', { class: 'folded' }, toggle, slot),
    get: () => {
      if (!node) return undefined;
      const v = node.get();
      return isEmpty(v) ? {} : v;
    },
    set: (v) => {
      if (v === undefined || v === null) close(); else open(v);
    },
  };
}

