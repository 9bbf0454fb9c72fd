/**
 * The panel of one patch: the picture the server renders for it (`POST /v1/reconstruct?image=panel` with
 * `Accept: image/png`: input | reconstruction | squared-error, 1 − SSIM and stain-residual maps, each with its
 * colour bar, and the verdict line), then the verdict, score, threshold, model and calibration, and the
 * statistics and signals of its score. The page draws no map itself: the server's picture is the reference.
 *
 *   const panel = new PatchPanel(document.getElementById("panel"));
 *   panel.show(entry);      // entry: { name, file, type, state, patch?, error? }
 *   panel.hide();
 */
import { apiFetch } from "./api.js";
import { verdictBadge } from "./table.js";

const statisticNames = ["mse", "l1", "ssim", "mse_p99", "dssim_p99", "tissue_fraction", "sharpness", "stain_p99"];
const signalNames = { high_error: "high error", stain: "stain", blur: "blur", background: "background" };

export class PatchPanel {
  constructor(section) {
    this.section = section;
    this.title = section.querySelector("#panel-title");
    this.status = section.querySelector("#panel-status");
    this.image = section.querySelector("#panel-image");
    this.summary = section.querySelector("#panel-summary");
    this.statistics = section.querySelector("#panel-statistics");
    this.signals = section.querySelector("#panel-signals");
    this.shown = null;
  }

  hide() {
    this.shown = null;
    this.section.hidden = true;
    this.image.hidden = true;
    this.image.removeAttribute("src");
  }

  show(entry) {
    this.shown = entry;
    this.section.hidden = false;
    this.title.textContent = `Patch ${entry.order}: ${entry.name}`;
    const patch = entry.state === "scored" ? entry.patch : null;
    this.statistics.hidden = !patch;
    this.signals.hidden = !patch;
    this.summary.replaceChildren();
    if (!patch) {
      this.image.hidden = true;
      this.status.textContent = entry.state === "failed" ? `Not scored. ${entry.error.message}` : "Scoring…";
      return;
    }
    this.fillSummary(entry, patch);
    this.fillStatistics(patch);
    this.fillSignals(patch);
    this.showPicture(entry, patch);
  }

  async showPicture(entry, patch) {
    const describe = `Panel of ${entry.name}: input, reconstruction, and the squared-error, 1 − SSIM and stain `
      + `residual maps with their colour bars; ${patch.verdict.replace("_", " ")}, score ${patch.score.toFixed(3)}`;
    if (!entry.panelURL) {
      this.image.hidden = true;
      this.status.textContent = "Rendering the panel…";
    }
    try {
      entry.panelRequest ??= renderPanel(entry);   // one request however often the row is selected meanwhile
      await entry.panelRequest;
    } catch (error) {
      entry.panelRequest = null;   // selecting the row again retries
      if (this.shown === entry) this.status.textContent = `The panel could not be rendered. ${error.message}`;
      return;
    }
    if (this.shown !== entry) return;   // another row was selected meanwhile
    this.image.alt = describe;
    this.image.src = entry.panelURL;
    this.image.hidden = false;
    this.status.textContent = "";
  }

  fillSummary(entry, patch) {
    const rows = [
      ["Verdict", verdictBadge(entry)],
      ["Score", `${patch.score.toFixed(4)} (threshold ${patch.threshold}, ${patch.threshold_source})`],
      ["Flags", patch.flags.length ? patch.flags.map((flag) => signalNames[flag] ?? flag).join(", ") : "none"],
      ["Method", `${patch.method}: ${patch.score_statistic} at percentile ${percent(patch.percentile)}, `
        + `deviation ${number(patch.deviation)}`],
      ["Model", `${patch.model.name} ${patch.model.version} (weights sha256 ${patch.model.weights_sha256.slice(0, 12)}…)`],
      ["Calibration", `${patch.calibration.patches} normal patches: ${patch.calibration.source}`],
    ];
    for (const [term, description] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.append(description);
      this.summary.append(dt, dd);
    }
  }

  fillStatistics(patch) {
    const rows = statisticNames.filter((name) => name in patch.statistics).map((name) => [
      name.replaceAll("_", " "), number(patch.statistics[name]), percent(patch.percentiles[name]),
      number(patch.deviations[name]),
    ]);
    fillBody(this.statistics, rows);
  }

  fillSignals(patch) {
    const rows = Object.entries(signalNames).filter(([key]) => key in patch.signals).map(([key, label]) => {
      const signal = patch.signals[key];
      return [label, signal.statistic.replaceAll("_", " "), number(signal.deviation), signal.flag ? "yes" : "no"];
    });
    fillBody(this.signals, rows);
  }
}

/**
 * Asks the server for the patch's panel; sets `entry.panelURL` to the picture, held in memory as a blob. Sent as
 * a one-part multipart upload so that the panel's title carries the file name.
 */
async function renderPanel(entry) {
  const form = new FormData();
  form.append("patch", new Blob([entry.file], { type: entry.type }), entry.name);
  const response = await apiFetch("/v1/reconstruct?image=panel", {
    method: "POST", body: form, headers: { Accept: "image/png" },
  });
  entry.panelURL = URL.createObjectURL(await response.blob());
}

function fillBody(table, rows) {
  table.tBodies[0].replaceChildren(...rows.map((cells) => {
    const row = document.createElement("tr");
    cells.forEach((text, index) => {
      const cell = document.createElement(index === 0 ? "th" : "td");
      if (index === 0) cell.scope = "row";
      else cell.className = "number";
      cell.textContent = text;
      row.append(cell);
    });
    return row;
  }));
}

/** Four significant digits, or "—" for a value the server did not give. */
function number(value) {
  return typeof value === "number" && Number.isFinite(value) ? Number(value.toPrecision(4)).toString() : "—";
}

function percent(value) {
  return typeof value === "number" && Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : "—";
}
