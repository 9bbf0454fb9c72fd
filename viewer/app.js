/**
 * HistoAE viewer, Patches view: the page's entry module (index.html loads it; the others are imported from here).
 * Picked or dropped PNG/JPEG patches are scored by the server (`POST /v1/score`, batches.js), listed in
 * upload order (table.js), and the selected one's panel and statistics are shown (panel.js). The model and
 * calibration the server scores with are shown in the header (`GET /v1/model`). Every API call goes through
 * api.js, which sends the tab's API key and turns refusals into readable messages.
 *
 * The Slides view (scan jobs and a slide with its scan's tiles) is slides.js's, shown under #slides.
 *
 * Uploads are scored one after another, never concurrently: the server's limits (patches per request, body
 * bytes, queue) are then met by one stream of requests, and the table fills in upload order.
 */
import { apiFetch } from "./api.js";
import { askForKey } from "./key.js";
import { scorePatches } from "./batches.js";
import { ResultsTable } from "./table.js";
import { PatchPanel } from "./panel.js";
import { initSlides } from "./slides.js";

const acceptedTypes = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg" };

const status = document.getElementById("status");
const alertBox = document.getElementById("alert");
const alertMessages = document.getElementById("alert-messages");
const clearButton = document.getElementById("clear-button");
const fileInput = document.getElementById("file-input");
const dropZone = document.getElementById("drop-zone");
const panel = new PatchPanel(document.getElementById("panel"));
const table = new ResultsTable(document.getElementById("results"), (entry) => panel.show(entry));

let uploads = 0;
let scoring = Promise.resolve();
let busy = 0;

/** The patch's media type from the browser's, else its extension; null for anything the API does not take. */
function mediaType(file) {
  if (file.type === "image/png" || file.type === "image/jpeg") return file.type;
  const extension = file.name.split(".").pop().toLowerCase();
  return file.type === "" ? acceptedTypes[extension] ?? null : null;
}

function showProblem(entry, error) {
  const item = document.createElement("li");
  item.textContent = `${entry.name}: ${error.message}`;
  alertMessages.append(item);
  alertBox.hidden = false;
}

function failEntry(entry, error) {
  entry.state = "failed";
  entry.error = error;
  table.update(entry);
  showProblem(entry, error);
}

/** Lists `files` at once and queues them for scoring after any upload still being scored. */
function addFiles(files) {
  if (files.length === 0) return;
  alertMessages.replaceChildren();
  alertBox.hidden = true;
  const entries = files.map((file) => ({ order: ++uploads, name: file.name, file, type: mediaType(file), state: "pending" }));
  entries.forEach((entry) => table.add(entry));
  const sendable = [];
  for (const entry of entries) {
    if (entry.type) sendable.push(entry);
    else failEntry(entry, new Error("not a PNG or JPEG file; the server scores PNG and JPEG patches only"));
  }
  busy += 1;
  clearButton.disabled = true;
  scoring = scoring.then(() => score(sendable)).finally(() => {
    busy -= 1;
    clearButton.disabled = busy > 0;
  });
}

async function score(entries) {
  if (entries.length === 0) return;
  let scored = 0;
  let failed = 0;
  try {
    await scorePatches(entries, {
      scored: (entry, patch) => {
        entry.state = "scored";
        entry.patch = patch;
        scored += 1;
        table.update(entry);
      },
      failed: (entry, error) => {
        failed += 1;
        failEntry(entry, error);
      },
      progress: (text) => { status.textContent = text; },
    });
  } catch (error) {
    // A fault of the page itself, not a refusal: say so on every patch still waiting rather than hide it.
    for (const entry of entries.filter((candidate) => candidate.state === "pending")) {
      failed += 1;
      failEntry(entry, error);
    }
  }
  const anomalous = entries.filter((entry) => entry.patch?.verdict === "anomalous").length;
  status.textContent = `Scored ${scored} of ${entries.length} patches`
    + (scored ? `: ${anomalous} anomalous` : "") + (failed ? `; ${failed} refused (see above).` : ".");
}

function clearResults() {
  for (const entry of table.entries) {
    if (entry.panelURL) URL.revokeObjectURL(entry.panelURL);
  }
  table.clear();
  panel.hide();
  alertMessages.replaceChildren();
  alertBox.hidden = true;
  status.textContent = "";
  uploads = 0;
}

/** The header's model line from `GET /v1/model`: what every verdict on this page was computed with. */
async function showModel() {
  const line = document.getElementById("model-identity");
  try {
    const card = await (await apiFetch("/v1/model", { headers: { Accept: "application/json" } })).json();
    const calibration = card.calibration ?? {};
    line.textContent = `Model ${card.name} ${card.version} (weights sha256 ${String(card.weights?.sha256).slice(0, 12)}…), `
      + `calibrated on ${calibration.patches} normal patches`;
    line.title = String(calibration.source ?? "");
  } catch (error) {
    line.textContent = `Model: unknown. ${error.message}`;
  }
}

fileInput.addEventListener("change", () => {
  addFiles([...fileInput.files]);
  fileInput.value = "";   // picking the same files again is a new upload
});
clearButton.addEventListener("click", clearResults);
document.getElementById("key-button").addEventListener("click", async () => {
  if (await askForKey("Enter the API key the server was started with (HISTOAE_API_KEYS).")) showModel();
});


// A file dropped anywhere but the drop zone must not replace the page with the image.
for (const type of ["dragover", "drop"]) document.addEventListener(type, (event) => event.preventDefault());
dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  addFiles([...(event.dataTransfer?.files ?? [])]);
});

// One after the other: on a keyed server the first call asks for the key, the second then has it.
showModel().then(initSlides);
