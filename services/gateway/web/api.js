// The gateway's JSON API, with the bearer token kept in sessionStorage, and a Server-Sent
// Events reader over fetch() (EventSource cannot send an Authorization header).

const TOKEN_KEY = "connect.token";
const USER_KEY = "connect.user";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || null;
    this.field = error.field || null;
    this.requestId = error.request_id || null;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get user() {
    return sessionStorage.getItem(USER_KEY);
  },
  set(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, user);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

// Called when the gateway answers 401 (expired or unknown token).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

const RETRYABLE = new Set([502, 503, 504]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Reads (GET) are retried twice on a network error or a 502/503/504 ("temporarily
// unavailable; try again"), with a short backoff; writes are never repeated.
async function send(method, path, init) {
  const attempts = method === "GET" ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(path, init);
      if (attempt < attempts && RETRYABLE.has(response.status)) {
        await sleep(300 * attempt);
        continue;
      }
      return response;
    } catch (error) {
      if (attempt >= attempts || error.name === "AbortError") throw error;
      await sleep(300 * attempt);
    }
  }
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await send(method, path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && !path.startsWith("/v1/dev/")) onUnauthorized(error);
    throw error;
  }
  return data;
}

export const api = {
  login: (user) => request("POST", "/v1/dev/login", { user }),
  widgetToken: (linkId) => request("POST", "/v1/widget-token", linkId ? { link_id: linkId } : {}),
  registerLink: (linkId, institution, region) =>
    request("POST", "/v1/links", { link_id: linkId, institution, region }),
  links: () => request("GET", "/v1/links?limit=200"),
  link: (id) => request("GET", `/v1/links/${encodeURIComponent(id)}`),
  deleteLink: (id) => request("DELETE", `/v1/links/${encodeURIComponent(id)}`),
  // The resources the gateway serves, in display order, with Belvo's name, product and filters.
  resources: () => request("GET", "/v1/resources"),
  resource: (id, resource, params) => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") query.set(key, value);
    }
    const suffix = query.toString() ? `?${query}` : "";
    return request("GET", `/v1/links/${encodeURIComponent(id)}/${resource}${suffix}`);
  },
  // A page of what changed in these resources of a link since `cursor` ("": every stored
  // object, as added): {changes: [{kind, resource, id, record?}], next_cursor, has_more}.
  changes: (id, cursor, resources) => {
    const query = new URLSearchParams({ cursor, resources: resources.join(","), page_size: "500" });
    return request("GET", `/v1/links/${encodeURIComponent(id)}/changes?${query}`);
  },
};

// Reads one Server-Sent Events stream (the spec's parsing rules: `event:`, `data:` lines
// joined by newlines, comments and `id:`/`retry:` ignored, a blank line dispatches) and calls
// onEvent(name, parsedJson). Reconnects with backoff until the returned stop() is called.
// onState("open" | "closed" | "retrying") reports the connection.
export function streamEvents(path, onEvent, onState = () => {}) {
  const controller = new AbortController();
  let stopped = false;
  let delay = 1000;

  async function once() {
    const response = await fetch(path, {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${session.token}` },
      signal: controller.signal,
      cache: "no-store",
    });
    if (response.status === 401) {
      onUnauthorized(new ApiError(401, null));
      stopped = true;
      return;
    }
    if (response.status === 404) {
      stopped = true;
      return;
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    onState("open");
    delay = 1000;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let name = "";
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (data.length) {
            const text = data.join("\n");
            let parsed = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // Not JSON: passed on as text.
            }
            onEvent(name || "message", parsed);
          }
          name = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "event") name = val;
        else if (field === "data") data.push(val);
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (error) {
        if (stopped || error.name === "AbortError") break;
      }
      if (stopped) break;
      onState("retrying");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
    onState("closed");
  })();

  return () => {
    stopped = true;
    controller.abort();
  };
}
