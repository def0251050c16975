// The console's entry point: builds the views, routes between them by the URL fragment
// (#/services, #/call/pkg.Svc/Method, #/upload, #/backends, #/policies, #/aggregates,
// #/metrics), and shows the "session expired" banner when the admin API answers 401.
import { h, replace, notice } from './dom.js';
import { onUnauthorized } from './api.js';
import { loadCatalog } from './catalog.js';
import { ServicesView } from './services_view.js';
import { CallPanel } from './call_panel.js';
import { UploadView } from './upload_view.js';
import { backendsView, policiesView, aggregatesView } from './backends_view.js';
import { MetricsView } from './metrics_view.js';

const main = document.getElementById('main');
const banner = document.getElementById('session');
onUnauthorized(() => { banner.hidden = false; });

let catalog = null;
const catalogStatus = h('div', { 'aria-live': 'polite' });

async function reloadCatalog() {
  try {
    catalog = await loadCatalog();
    replace(catalogStatus);
  } catch (e) {
    replace(catalogStatus, notice('error', `Cannot load the services: ${e.message}`));
    return;
  }
  services.setCatalog(catalog);
  call.setCatalog(catalog);
  renderMethodNav();
}

const services = new ServicesView();
const call = new CallPanel();
const methodNav = h('nav', { class: 'method-nav', 'aria-label': 'Methods' });
const callView = {
  element: h('div', { class: 'call-layout' }, methodNav, call.element),
};

function renderMethodNav() {
  if (!catalog) return;
  replace(methodNav, h('h2', { class: 'nav-title' }, 'Methods'),
    catalog.services.map((s) => h('div', { class: 'nav-service' },
      h('h3', {}, s.name),
      h('ul', {}, s.methods.map((m) => h('li', {},
        h('a', { href: `#/call${m.path}`, dataset: { method: m.path } }, m.name,
          h('span', { class: 'hint' }, ` ${m.kind}`))))))));
  markCurrentMethod();
}

function markCurrentMethod() {
  const current = call.method ? call.method.path : '';
  for (const a of methodNav.querySelectorAll('a[data-method]')) {
    if (a.dataset.method === current) a.setAttribute('aria-current', 'true');
    else a.removeAttribute('aria-current');
  }
}

const views = {
  services,
  call: callView,
  upload: new UploadView(() => reloadCatalog()),
  backends: backendsView(),
  policies: policiesView(),
  aggregates: aggregatesView(),
  metrics: new MetricsView(),
};

let currentName = null;
let firstRoute = true;

async function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [nameRaw, ...rest] = hash.split('/');
  const name = views[nameRaw] ? nameRaw : 'services';
  if (name !== currentName) {
    if (currentName && views[currentName].hide) views[currentName].hide();
    for (const [key, view] of Object.entries(views)) view.element.hidden = key !== name;
    currentName = name;
    for (const a of document.querySelectorAll('.tabs a')) {
      if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (views[name].show) views[name].show();
    if (name === 'services' && !firstRoute) reloadCatalog();
    document.title = `${document.querySelector(`.tabs a[data-view="${name}"]`).textContent} · Portico console`;
    // Keyboard and screen-reader users land on the new view's heading (not on first load).
    if (!firstRoute) {
      const heading = views[name].element.querySelector('h2[tabindex]');
      if (heading) heading.focus();
    }
  }
  firstRoute = false;
  if (name === 'call') {
    if (!catalog) await reloadCatalog();
    call.select(rest.length >= 2 ? `/${rest.join('/')}` : call.method ? call.method.path : '');
    if (!call.method) call.select('');
    markCurrentMethod();
  }
}

replace(main, catalogStatus, Object.values(views).map((v) => v.element));
window.addEventListener('hashchange', route);
reloadCatalog().then(route);
