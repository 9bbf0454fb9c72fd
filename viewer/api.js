/**
 * Calls to the HistoAE API (openapi.yaml) from the viewer. Every call sends the tab's API key as
 * `Authorization: Bearer`; a 401 asks for the key and retries; every other error answer becomes an ApiError
 * whose message is the server's RFC 9457 problem `title` and `detail`, so nothing the server says is lost.
 *
 *   import { apiFetch, ApiError } from "./api.js";
 *   try {
 *     const card = await (await apiFetch("/v1/model")).json();
 *   } catch (error) {
 *     show(error.message);   // e.g. "Unprocessable Content: patch 0 (a.png) is 64×64; the model takes 150×150 patches"
 *   }
 */
import { askForKey, currentKey } from "./key.js";

/** An answer that is not 2xx (or no answer): `status` (0 when the server was not reached), the `problem` body. */
export class ApiError extends Error {
  constructor(status, problem, retryAfterSeconds = null) {
    super(describe(status, problem));
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

function describe(status, problem) {
  const title = problem.title || (status ? `HTTP ${status}` : "No answer");
  return problem.detail ? `${title}: ${problem.detail}` : title;
}

/**
 * `fetch(path, init)` with the key; resolves with a 2xx Response.
 * @throws {ApiError} for any other status, a network failure, or a 401 the user did not answer with a key.
 */
export async function apiFetch(path, init = {}) {
  for (;;) {
    const key = currentKey();
    const headers = new Headers(init.headers);
    if (key) headers.set("Authorization", `Bearer ${key}`);
    let response;
    try {
      response = await fetch(path, { ...init, headers, credentials: "omit", cache: "no-store" });
    } catch (error) {
      throw new ApiError(0, { title: "The server could not be reached", detail: String(error?.message ?? error) });
    }
    if (response.ok) return response;
    const problem = await problemOf(response);
    if (response.status === 401) {
      // Another call may have got a new key while this one was under way: retry with it before asking.
      if (currentKey() !== key) continue;
      const reason = key ? `The key was not accepted (${problem.detail || problem.title}). Enter another.`
        : "This server needs an API key.";
      if (await askForKey(reason)) continue;
    }
    throw new ApiError(response.status, problem, retryAfterSeconds(response));
  }
}

/** The problem+json body, or a problem made from whatever else came back. */
async function problemOf(response) {
  const type = response.headers.get("Content-Type") ?? "";
  let text = "";
  try {
    text = await response.text();
  } catch {
    // The body broke off: the status says enough.
  }
  if (type.startsWith("application/problem+json") || type.startsWith("application/json")) {
    try {
      const body = JSON.parse(text);
      if (body && typeof body === "object") return body;
    } catch {
      // Not JSON after all: fall through to the text.
    }
  }
  return { title: response.statusText || `HTTP ${response.status}`, detail: text.slice(0, 500) };
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or null. */
function retryAfterSeconds(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
