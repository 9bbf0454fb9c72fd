/**
 * The results table: one row per patch in upload order, its verdict, score, flags and the model and
 * calibration that scored it; sortable by upload order or score with the header buttons (`aria-sort` on the
 * header says how); a row is selected by a click anywhere on it or, from the keyboard, with its file-name
 * button (Tab, Enter/Space) and the arrow keys.
 *
 *   const table = new ResultsTable(document.getElementById("results"), (entry) => panel.show(entry));
 *   table.add(entry);                  // entry: { order, name, … } — a "scoring…" row
 *   table.update(entry);               // after entry.state became "scored" (entry.patch) or "failed" (entry.error)
 */

const verdictLabels = { normal: "normal", anomalous: "anomalous", not_tissue: "not tissue" };

export class ResultsTable {
  constructor(table, onSelect) {
    this.table = table;
    this.body = table.tBodies[0];
    this.onSelect = onSelect;
    this.entries = [];
    this.selected = null;
    this.sort = { key: "order", direction: "ascending" };
    for (const header of table.tHead.querySelectorAll("th[data-sort-key]")) {
      header.querySelector("button").addEventListener("click", () => this.sortBy(header.dataset.sortKey));
    }
    this.body.addEventListener("click", (event) => this.selectFromEvent(event));
    this.body.addEventListener("keydown", (event) => this.moveWithArrows(event));
  }

  add(entry) {
    entry.row = this.makeRow(entry);
    this.entries.push(entry);
    this.fill(entry);
    this.body.append(entry.row);
    this.table.hidden = false;
  }

  update(entry) {
    if (!this.entries.includes(entry)) return;   // cleared while its request was under way
    this.fill(entry);
    if (this.sort.key !== "order") this.reorder();
    if (entry === this.selected) this.onSelect(entry);
  }

  clear() {
    this.entries = [];
    this.selected = null;
    this.body.replaceChildren();
    this.table.hidden = true;
  }

  /** Sorts by `key` ("order" or "score"): a new key starts ascending for order, descending (worst first) for score. */
  sortBy(key) {
    const direction = this.sort.key === key
      ? (this.sort.direction === "ascending" ? "descending" : "ascending")
      : (key === "score" ? "descending" : "ascending");
    this.sort = { key, direction };
    for (const header of this.table.tHead.querySelectorAll("th[data-sort-key]")) {
      if (header.dataset.sortKey === key) header.setAttribute("aria-sort", direction);
      else header.removeAttribute("aria-sort");
    }
    this.reorder();
  }

  /** Rows in the current order; rows without a score (pending, failed) last, in upload order. */
  reorder() {
    const sign = this.sort.direction === "ascending" ? 1 : -1;
    const value = (entry) => (this.sort.key === "score" ? entry.patch?.score : entry.order);
    const sorted = [...this.entries].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === undefined || y === undefined) {
        return (x === undefined) - (y === undefined) || a.order - b.order;
      }
      return sign * (x - y) || a.order - b.order;
    });
    this.body.append(...sorted.map((entry) => entry.row));
  }

  select(entry, { focus = false } = {}) {
    if (this.selected) {
      this.selected.row.classList.remove("selected");
      this.selected.row.querySelector(".row-select").removeAttribute("aria-current");
    }
    this.selected = entry;
    entry.row.classList.add("selected");
    const button = entry.row.querySelector(".row-select");
    button.setAttribute("aria-current", "true");
    if (focus) button.focus();
    this.onSelect(entry);
  }

  selectFromEvent(event) {
    const row = event.target.closest("tr");
    const entry = this.entries.find((candidate) => candidate.row === row);
    if (entry) this.select(entry);
  }

  /** ArrowUp / ArrowDown on a row's button selects the row above or below, in the order shown. */
  moveWithArrows(event) {
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    const rows = [...this.body.rows];
    const index = rows.indexOf(event.target.closest("tr"));
    const next = rows[index + (event.key === "ArrowDown" ? 1 : -1)];
    const entry = next && this.entries.find((candidate) => candidate.row === next);
    if (!entry) return;
    event.preventDefault();
    this.select(entry, { focus: true });
  }

  makeRow(entry) {
    const row = document.createElement("tr");
    row.dataset.order = String(entry.order);
    for (const name of ["order", "file", "verdict", "score", "flags", "model", "calibration"]) {
      const cell = document.createElement("td");
      cell.className = `col-${name}`;
      row.append(cell);
    }
    row.cells[0].classList.add("number");
    row.cells[3].classList.add("number");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "row-select";
    button.textContent = entry.name;
    row.cells[1].append(button);
    row.cells[0].textContent = String(entry.order);
    return row;
  }

  fill(entry) {
    const cells = entry.row.cells;
    const patch = entry.patch;
    cells[2].replaceChildren(verdictBadge(entry));
    if (entry.state === "failed") {
      const message = document.createElement("span");
      message.className = "row-error";
      message.textContent = entry.error.message;
      cells[2].append(message);
    }
    cells[3].textContent = patch ? patch.score.toFixed(3) : "—";
    cells[4].textContent = patch ? (patch.flags.length ? patch.flags.join(", ") : "none") : "—";
    cells[5].textContent = patch ? `${patch.model.name} ${patch.model.version}` : "—";
    cells[5].title = patch ? `weights sha256 ${patch.model.weights_sha256}` : "";
    cells[6].replaceChildren();
    if (patch) {
      const calibration = document.createElement("span");
      calibration.className = "calibration";
      calibration.textContent = `${patch.calibration.patches} normal patches`;
      calibration.title = patch.calibration.source;
      cells[6].append(calibration);
    } else {
      cells[6].textContent = "—";
    }
  }
}

/** The verdict as a word with its colour: "normal", "ANOMALOUS", "not tissue", "scoring…", "error". */
export function verdictBadge(entry) {
  const badge = document.createElement("span");
  let kind = "pending";
  let label = "scoring…";
  if (entry.state === "scored") {
    kind = entry.patch.verdict;
    label = verdictLabels[kind] ?? kind;
  } else if (entry.state === "failed") {
    kind = "error";
    label = "error";
  }
  badge.className = `verdict verdict-${kind}`;
  badge.textContent = label;
  return badge;
}
