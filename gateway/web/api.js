// Calls to the gateway: relative URLs (so an Ingress path prefix works), the API key from sessionStorage,
// and the API's own error message ({"error": {"code", "message"}}) surfaced as an ApiError.

const KEY = "polyad.apiKey";

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY) || "";
  } catch {
    return "";
  }
}

export function setApiKey(value) {
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage disabled: the key lives for this page only */
  }
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A URL relative to the page (never to the host root), with empty query values left out. */
export function apiUrl(path, query = {}) {
  const url = new URL(path.replace(/^\/+/, ""), document.baseURI);
  url.hash = "";
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  return url;
}

/**
 * fetch + JSON. Throws ApiError with the API's message on an error status (statuses in `accept` are
 * returned as data, e.g. /readyz's 503 body).
 */
export async function api(path, {method = "GET", query, body, accept = []} = {}) {
  const headers = {Accept: "application/json"};
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  let response;
  try {
    response = await fetch(apiUrl(path, query), {method, body, headers, credentials: "same-origin"});
  } catch (error) {
    throw new ApiError(0, "UNAVAILABLE", `cannot reach the gateway (${error.message})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.ok || accept.includes(response.status)) return data;
  const error = data && data.error;
  const message = (error && error.message) || text.slice(0, 500) || response.statusText || "request failed";
  const failure = new ApiError(response.status, (error && error.code) || `HTTP ${response.status}`, message);
  if (response.status === 401) window.dispatchEvent(new CustomEvent("polyad:unauthenticated", {detail: failure}));
  return Promise.reject(failure);
}

/** POST a multipart form (files) to `path` with query parameters. */
export function upload(path, query, files) {
  const form = new FormData();
  for (const [field, file] of files) form.append(field, file, file.name);
  return api(path, {method: "POST", query, body: form});
}

/** "CODE (status): message" for display. */
export function describe(error) {
  if (error instanceof ApiError) return error.status ? `${error.message} (${error.code}, HTTP ${error.status})`
    : error.message;
  return `unexpected error in the console: ${error && error.message ? error.message : error}`;
}
