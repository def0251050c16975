// The console's one way to reach the admin listener (its own origin). Requests carry the session
// cookie (same-origin); a 401 means the session expired (or was never made), which app.js shows.

const listeners = new Set();

// fn(response) is called on every 401 of the admin API.
export function onUnauthorized(fn) {
  listeners.add(fn);
}

export class ApiError extends Error {
  constructor(status, body) {
    const message = body && typeof body === 'object' && typeof body.message === 'string'
      ? body.message : `HTTP ${status}`;
    super(message);
    this.status = status;
    this.body = body;
    // Compiler and validation errors come one per entry in `errors` (admin 400 bodies).
    this.errors = body && Array.isArray(body.errors) ? body.errors.map(String) : [];
  }
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// request('GET', '/admin/backends') -> parsed JSON; throws ApiError on a non-2xx answer.
export async function request(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers },
                 credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    if (typeof body === 'string') {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
  }
  const response = await fetch(path, init);
  const parsed = await readBody(response);
  if (response.status === 401) listeners.forEach((fn) => fn(response));
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const get = (path) => request('GET', path);
export const put = (path, body) => request('PUT', path, body);
export const post = (path, body) => request('POST', path, body);
export const del = (path) => request('DELETE', path);

export async function getText(path) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) listeners.forEach((fn) => fn(response));
  if (!response.ok) throw new ApiError(response.status, await readBody(response));
  return response.text();
}
