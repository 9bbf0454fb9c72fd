/**
 * HistoAE viewer, Slides view: the server's scan jobs (`GET /v1/scans`, refreshed while any is queued or
 * running), a form that starts one (`POST /v1/scans` with a slide path under the server's slide root), cancel
 * and delete (`DELETE /v1/scans/{id}`), and a finished scan opened over its slide (slideview.js, with the tiles
 * of tiles-overlay.js); clicking a tile shows its panel (`GET /v1/scans/{id}/tiles/{index}/panel.png`) and
 * its verdict, score and flags. Refusals read as the server's own problem+json words (api.js).
 *
 *   import { initSlides } from "./slides.js";
 *   await initSlides();   // shows the Slides tab if this server scans slides, else says why not
 */
import { apiFetch } from "./api.js";
import { SlideView } from "./slideview.js";
import { TilesOverlay } from "./tiles-overlay.js";
import { verdictBadge } from "./table.js";

const pollMilliseconds = 1000;
const byId = (id) => document.getElementById(id);

let pollTimer = null;
let openScan = null;
const view = new SlideView(byId("slide-canvas"), { onTileClick: showTile, onStatus: (text) => { byId("slide-status").textContent = text; } });

/** Probes `GET /v1/scans`: 200 shows the tab; anything else leaves the note with the server's reason. */
export async function initSlides() {
  const note = byId("slides-unavailable");
  try {
    const page = await (await apiFetch("/v1/scans", { headers: { Accept: "application/json" } })).json();
    note.hidden = true;
    byId("slides-tab").hidden = false;
    renderJobs(page.scans ?? []);
    wire();
    showView();
  } catch (error) {
    note.textContent = `Slides — ${error.problem?.detail ?? error.message}`;
  }
}

/** The view the address names: #slides, else Patches. */
export function showView() {
  const slides = location.hash === "#slides" && !byId("slides-tab").hidden;
  byId("patches").hidden = slides;
  byId("slides").hidden = !slides;
  for (const [tab, current] of [["patches-tab", !slides], ["slides-tab", slides]]) {
    if (current) byId(tab).setAttribute("aria-current", "page"); else byId(tab).removeAttribute("aria-current");
  }
  if (slides) refresh();
}

function wire() {
  window.addEventListener("hashchange", showView);
  byId("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startScan(byId("scan-slide").value.trim());
  });
  byId("zoom-in").addEventListener("click", () => view.zoomBy(1.5));
  byId("zoom-out").addEventListener("click", () => view.zoomBy(1 / 1.5));
  byId("zoom-fit").addEventListener("click", () => view.fit());
  const opacity = byId("heatmap-opacity");
  opacity.addEventListener("input", () => {
    byId("heatmap-opacity-value").textContent = `${opacity.value} %`;
    if (view.overlay) view.overlay.opacity = Number(opacity.value) / 100;
    view.draw();
  });
  for (const id of ["geojson-link", "heatmap-link"]) byId(id).addEventListener("click", download);
  byId("show-verdicts").addEventListener("change", (event) => {
    if (view.overlay) view.overlay.outlines = event.target.checked;
    view.draw();
  });
}

/** Saves a result with the tab's API key (a plain link would be sent without it): fetched, then saved from a blob. */
async function download(event) {
  event.preventDefault();
  const link = event.currentTarget;
  try {
    const blob = await (await apiFetch(link.getAttribute("href"))).blob();
    const save = document.createElement("a");
    save.href = URL.createObjectURL(blob);
    save.download = link.getAttribute("download");
    save.click();
    setTimeout(() => URL.revokeObjectURL(save.href), 60000);
    link.dataset.bytes = String(blob.size);
  } catch (error) {
    byId("slide-status").textContent = `The download failed. ${error.message}`;
  }
}

function showAlert(text) {
  byId("scan-alert-text").textContent = text;
  byId("scan-alert").hidden = !text;
}

async function startScan(slide) {
  showAlert("");
  if (!slide) return;
  byId("scan-submit").disabled = true;
  try {
    const job = await (await apiFetch("/v1/scans", {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ slide }),
    })).json();
    byId("scan-status").textContent = `Scan of ${job.slide} queued.`;
    await refresh();
  } catch (error) {
    showAlert(`The scan was not started. ${error.message}`);
  } finally {
    byId("scan-submit").disabled = false;
  }
}

/** Reloads the list; polls again while any job is queued or running. */
async function refresh() {
  clearTimeout(pollTimer);
  pollTimer = null;
  try {
    const page = await (await apiFetch("/v1/scans", { headers: { Accept: "application/json" } })).json();
    renderJobs(page.scans ?? []);
  } catch (error) {
    showAlert(`The scan list could not be loaded. ${error.message}`);
  }
}

function renderJobs(jobs) {
  const rows = jobs.map(jobRow);
  byId("scan-rows").replaceChildren(...rows);
  if (!rows.length) {
    const cell = document.createElement("td");
    cell.colSpan = 6;
    cell.textContent = "No scans yet: start one above.";
    const row = document.createElement("tr");
    row.append(cell);
    byId("scan-rows").append(row);
  }
  const active = jobs.some((job) => job.state === "queued" || job.state === "running");
  if (active && !pollTimer && !byId("slides").hidden) pollTimer = setTimeout(refresh, pollMilliseconds);
}

function cell(text, className = "") {
  const element = document.createElement("td");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function button(text, label, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.setAttribute("aria-label", label);
  element.addEventListener("click", action);
  return element;
}

function jobRow(job) {
  const row = document.createElement("tr");
  row.dataset.id = job.id;
  row.dataset.state = job.state;
  const done = job.progress?.tiles_done ?? 0;
  const total = job.progress?.tiles_total;
  const progress = total ? `${done} / ${total} tiles (${Math.floor((100 * done) / total)} %)` : `${done} tiles`;
  const verdicts = job.verdicts
    ? `${job.verdicts.normal} normal, ${job.verdicts.anomalous} anomalous, ${job.verdicts.not_tissue} not tissue` : "";
  const state = cell(job.state, `state state-${job.state}`);
  if (job.error) state.title = job.error;
  row.append(cell(job.slide), state, cell(progress, "number"), cell(verdicts),
             cell(new Date(job.created_at).toLocaleString()));
  const actions = document.createElement("td");
  actions.className = "actions";
  if (job.state === "succeeded") actions.append(button("Open", `Open the scan of ${job.slide}`, () => openJob(job)));
  const active = job.state === "queued" || job.state === "running";
  actions.append(button(active ? "Cancel" : "Delete", `${active ? "Cancel" : "Delete"} the scan of ${job.slide}`,
                        () => removeJob(job, active)));
  row.append(actions);
  if (job.error) {
    const line = document.createElement("span");
    line.className = "row-error";
    line.textContent = job.error;
    state.append(line);
  }
  return row;
}

async function removeJob(job, active) {
  showAlert("");
  try {
    await apiFetch(`/v1/scans/${job.id}`, { method: "DELETE", headers: { Accept: "application/json" } });
    byId("scan-status").textContent = active ? `Scan of ${job.slide} cancelled.` : `Scan of ${job.slide} deleted.`;
    if (openScan?.id === job.id && !active) byId("slide-view").hidden = true;
  } catch (error) {
    showAlert(`The scan was not ${active ? "cancelled" : "deleted"}. ${error.message}`);
  }
  await refresh();
}

async function openJob(job) {
  showAlert("");
  openScan = job;
  const section = byId("slide-view");
  section.hidden = false;
  byId("slide-view-title").textContent = `Slide ${job.slide}`;
  byId("tile-panel").hidden = true;
  byId("slide-status").textContent = "Loading the slide and its tiles…";
  byId("geojson-link").href = job.links.tiles_geojson;
  byId("geojson-link").setAttribute("download", `${job.slide.split("/").pop()}.tiles.geojson`);
  byId("heatmap-link").href = job.links.heatmap_png;
  byId("heatmap-link").setAttribute("download", `${job.slide.split("/").pop()}.heatmap.png`);
  try {
    const collection = await (await apiFetch(job.links.tiles_geojson, { headers: { Accept: "application/geo+json" } })).json();
    const overlay = TilesOverlay.from(collection);
    overlay.opacity = Number(byId("heatmap-opacity").value) / 100;
    overlay.outlines = byId("show-verdicts").checked;
    await view.open(job.links.self, overlay);
    byId("slide-status").textContent = `${overlay.tiles.length} tiles scanned; click one for its panel.`;
    section.scrollIntoView({ block: "start" });
    byId("slide-canvas").focus({ preventScroll: true });
  } catch (error) {
    byId("slide-status").textContent = `The slide could not be opened. ${error.message}`;
  }
}

/** The clicked tile's verdict, score and flags (from tiles.geojson) and its panel, rendered by the server. */
async function showTile(tile) {
  if (!openScan) return;
  view.overlay.selected = tile;
  view.draw();
  const job = openScan;
  byId("tile-panel").hidden = false;
  byId("tile-title").textContent = `Tile ${tile.index} at (${tile.x}, ${tile.y})`;
  const summary = byId("tile-summary");
  const flags = /\((.*)\)$/.exec(tile.name)?.[1] ?? "none";
  const facts = [["Verdict", verdictBadge({ state: "scored", patch: { verdict: tile.verdict } })], ["Score", tile.score.toFixed(4)], ["Flags", flags]];
  summary.replaceChildren(...facts.flatMap(([term, value]) => {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.append(value);
    return [dt, dd];
  }));
  const image = byId("tile-image");
  const status = byId("tile-status");
  image.hidden = true;
  status.textContent = "Rendering the tile's panel…";
  try {
    const blob = await (await apiFetch(`${job.links.self}/tiles/${tile.index}/panel.png`, { headers: { Accept: "image/png" } })).blob();
    if (view.overlay?.selected !== tile) return;   // another tile was clicked meanwhile
    if (image.dataset.url) URL.revokeObjectURL(image.dataset.url);
    image.dataset.url = URL.createObjectURL(blob);
    image.src = image.dataset.url;
    image.alt = `Panel of tile ${tile.index}: input, reconstruction, and the squared-error, 1 − SSIM and stain `
      + `residual maps; ${tile.verdict.replace("_", " ")}, score ${tile.score.toFixed(3)}`;
    image.dataset.tile = String(tile.index);
    image.hidden = false;
    status.textContent = "";
  } catch (error) {
    status.textContent = `The panel could not be rendered. ${error.message}`;
  }
}
