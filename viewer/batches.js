/**
 * Scores patches with `POST /v1/score` (multipart, repeated `patch` parts) in as few requests as the server
 * allows. Its limits are learned from its refusals and kept for the page's life:
 *   - 413 with `max_patches`: too many patches in one request → requests of at most that many;
 *   - 413 with `limit_bytes`: the body is over the server's limit → requests under that many bytes;
 *   - 422 with `patch`: that patch is wrong (size, format) → it fails with the server's words, the rest retry;
 *   - 503 with `Retry-After`: the server is busy → wait as told (at most 30 s), retry up to 5 times.
 * Anything else fails the request's patches with the server's message.
 *
 *   import { scorePatches } from "./batches.js";
 *   await scorePatches(entries, {
 *     scored: (entry, patch) => …,      // patch: one PatchScore of openapi.yaml
 *     failed: (entry, error) => …,      // error: ApiError (error.message is readable)
 *     progress: (text) => …,
 *   });
 * An entry is `{ file, name, type }` with `type` "image/png" or "image/jpeg".
 */
import { apiFetch, ApiError } from "./api.js";

/** The server's default patch limit (openapi.yaml) until a 413 says otherwise. */
const serverLimits = { maxPatches: 256, maxBodyBytes: Infinity };
/** Multipart framing per part (boundary, headers, file name) and per body, over-estimated. */
const partOverheadBytes = 512;
const bodyOverheadBytes = 256;
const maxBusyRetries = 5;
const maxRetryWaitSeconds = 30;

export async function scorePatches(entries, { scored, failed, progress }) {
  const pending = [...entries];
  let busyRetries = 0;
  let requests = 0;
  while (pending.length > 0) {
    const batch = takeBatch(pending);
    requests += 1;
    progress(`Scoring ${entries.length - pending.length - batch.length + 1}–${entries.length - pending.length} `
      + `of ${entries.length} patches (request ${requests})…`);
    try {
      const patches = await scoreBatch(batch);
      patches.forEach((patch, index) => scored(batch[index], patch));
      busyRetries = 0;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const retry = await recover(error, batch, failed, busyRetries, progress);
      if (retry.busy) busyRetries += 1;
      pending.unshift(...retry.again);
      if (error.status === 401) {   // no key: every later request would be refused the same way
        for (const entry of pending.splice(0)) failed(entry, error);
      }
    }
  }
}

/** The next request's patches: as many as the learned limits allow, at least one. */
function takeBatch(pending) {
  let bytes = bodyOverheadBytes;
  let count = 0;
  while (count < pending.length && count < serverLimits.maxPatches) {
    const size = pending[count].file.size + partOverheadBytes + pending[count].name.length;
    if (count > 0 && bytes + size > serverLimits.maxBodyBytes) break;
    bytes += size;
    count += 1;
  }
  return pending.splice(0, count);
}

async function scoreBatch(batch) {
  const form = new FormData();
  for (const entry of batch) form.append("patch", new Blob([entry.file], { type: entry.type }), entry.name);
  const response = await apiFetch("/v1/score", { method: "POST", body: form, headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!Array.isArray(body?.patches) || body.patches.length !== batch.length) {
    throw new ApiError(response.status, {
      title: "Unexpected answer",
      detail: `the server answered ${body?.patches?.length ?? "no"} results for ${batch.length} patches`,
    });
  }
  return body.patches;
}

/**
 * What to do after a refusal: the patches to send again (`again`), whether it was a busy server (`busy`);
 * patches that cannot succeed are reported to `failed`.
 */
async function recover(error, batch, failed, busyRetries, progress) {
  const problem = error.problem ?? {};
  if (error.status === 413 && batch.length > 1) {
    const limit = Number(problem.max_patches);
    if (Number.isInteger(limit) && limit >= 1 && limit < batch.length) {
      serverLimits.maxPatches = limit;
    } else if (Number.isFinite(Number(problem.limit_bytes)) && Number(problem.limit_bytes) < serverLimits.maxBodyBytes) {
      serverLimits.maxBodyBytes = Number(problem.limit_bytes);
    } else {
      serverLimits.maxPatches = Math.max(1, Math.floor(batch.length / 2));   // no limit named: halve
    }
    return { again: batch, busy: false };
  }
  if (error.status === 422 && Number.isInteger(problem.patch) && problem.patch >= 0 && problem.patch < batch.length) {
    const [bad] = batch.splice(problem.patch, 1);
    failed(bad, error);
    return { again: batch, busy: false };
  }
  if (error.status === 503 && busyRetries < maxBusyRetries) {
    const wait = Math.min(Math.max(error.retryAfterSeconds ?? 1, 1), maxRetryWaitSeconds);
    progress(`${error.message} — retrying in ${wait} s.`);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    return { again: batch, busy: true };
  }
  for (const entry of batch) failed(entry, error);
  return { again: [], busy: false };
}
