/**
 * A zoomable, pannable view of one slide on a <canvas>, drawn from the Deep Zoom tiles HistoAE serves
 * (`GET /v1/scans/{id}/slide.dzi`, `…/slide_files/{level}/{column}_{row}.png`), with the scan's tiles on top
 * (tiles-overlay.js: the score heatmap at an adjustable opacity, outlines by verdict). Tiles are fetched with
 * the tab's API key (api.js) and drawn from ImageBitmaps, so the page needs no <img> per tile and nothing
 * the Content-Security-Policy or Trusted Types would refuse.
 *
 *   const view = new SlideView(canvas, { onTileClick: (feature) => …, onStatus: (text) => … });
 *   await view.open("/v1/scans/<id>", overlay);    // overlay: a TilesOverlay, or null
 *   view.zoomBy(2);  view.panBy(100, 0);  view.fit();
 *
 * Controls on the focused canvas: wheel, + and − zoom about the pointer (or the centre); drag or the arrow
 * keys pan; 0 fits the slide; a click that did not drag picks the scan tile under the pointer.
 */
import { apiFetch } from "./api.js";

const maxCachedTiles = 400;
const maxConcurrentFetches = 4;

/** The Deep Zoom descriptor's numbers, read without an XML parser (DOMParser is a Trusted Types sink). */
export function parseDescriptor(xml) {
  const number = (name) => {
    const match = new RegExp(`\\b${name}="(\\d+)"`).exec(xml);
    if (!match) throw new Error(`the slide's Deep Zoom descriptor has no ${name}`);
    return Number(match[1]);
  };
  const format = /\bFormat="([a-z]+)"/.exec(xml)?.[1] ?? "png";
  return { width: number("Width"), height: number("Height"), tileSize: number("TileSize"), overlap: number("Overlap"), format };
}

export class SlideView {
  constructor(canvas, { onTileClick = () => {}, onStatus = () => {} } = {}) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.onTileClick = onTileClick;
    this.onStatus = onStatus;
    this.cache = new Map();        // "level/column_row" → ImageBitmap (insertion order: oldest first)
    this.wanted = new Set();       // keys fetching or queued
    this.failed = 0;
    this.queue = [];
    this.active = 0;
    this.overlay = null;
    this.generation = 0;
    this.listen();
  }

  /** Loads the scan's slide descriptor and shows the whole slide. */
  async open(scanPath, overlay) {
    this.generation += 1;
    for (const bitmap of this.cache.values()) bitmap.close?.();
    this.cache.clear();
    this.wanted.clear();
    this.queue = [];
    this.failed = 0;
    this.base = scanPath;
    this.overlay = overlay;
    const xml = await (await apiFetch(`${scanPath}/slide.dzi`, { headers: { Accept: "application/xml" } })).text();
    this.pyramid = parseDescriptor(xml);
    const { width, height, tileSize } = this.pyramid;
    this.maxLevel = Math.ceil(Math.log2(Math.max(width, height)));
    // The coarsest level drawn: the whole slide in one tile.
    this.minLevel = Math.max(0, this.maxLevel - Math.ceil(Math.log2(Math.max(width, height) / tileSize)));
    this.fit();
  }

  /** Shows the whole slide, centred. */
  fit() {
    if (!this.pyramid) return;
    const { width, height } = this.pyramid;
    this.scale = Math.min(this.canvas.width / width, this.canvas.height / height) * 0.95;
    this.left = (width - this.canvas.width / this.scale) / 2;
    this.top = (height - this.canvas.height / this.scale) / 2;
    this.draw();
  }

  /** Zooms by `factor` about the canvas point (x, y) (default: its centre), between the fit and 4× the slide. */
  zoomBy(factor, x = this.canvas.width / 2, y = this.canvas.height / 2) {
    if (!this.pyramid) return;
    const { width, height } = this.pyramid;
    const least = Math.min(this.canvas.width / width, this.canvas.height / height) * 0.5;
    const scale = Math.min(4, Math.max(least, this.scale * factor));
    const slideX = this.left + x / this.scale;
    const slideY = this.top + y / this.scale;
    this.scale = scale;
    this.left = slideX - x / scale;
    this.top = slideY - y / scale;
    this.draw();
  }

  /** Moves the view by (dx, dy) canvas pixels. */
  panBy(dx, dy) {
    if (!this.pyramid) return;
    this.left += dx / this.scale;
    this.top += dy / this.scale;
    this.draw();
  }

  /** The Deep Zoom level whose pixels are closest to (not coarser than) the canvas's at this scale. */
  level() {
    const reduction = Math.max(0, Math.floor(Math.log2(1 / this.scale)));
    return Math.max(this.minLevel, Math.min(this.maxLevel, this.maxLevel - reduction));
  }

  /** Level-0 point under the canvas point (x, y). */
  slidePoint(x, y) {
    return { x: this.left + x / this.scale, y: this.top + y / this.scale };
  }

  /** Canvas point of the level-0 point (x, y) (tests use it to click a tile). */
  canvasPoint(x, y) {
    return { x: (x - this.left) * this.scale, y: (y - this.top) * this.scale };
  }

  draw() {
    if (!this.pyramid) return;
    const { context, canvas } = this;
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    const target = this.level();
    // Coarser cached levels first, so the view is never blank while the sharper tiles arrive.
    for (let level = Math.max(this.minLevel, target - 4); level <= target; level += 1) {
      this.drawLevel(level, level === target);
    }
    this.overlay?.draw(context, this);
    canvas.dataset.level = String(target);
    canvas.dataset.scale = String(this.scale);   // the view, for tests: canvas x = (level-0 x − left) × scale
    canvas.dataset.left = String(this.left);
    canvas.dataset.top = String(this.top);
    canvas.dataset.tilesPending = String(this.wanted.size);
  }

  drawLevel(level, fetchMissing) {
    const { width, height, tileSize, overlap } = this.pyramid;
    const factor = 2 ** (this.maxLevel - level);          // level-0 pixels per pixel of this level
    const levelWidth = Math.ceil(width / factor);
    const levelHeight = Math.ceil(height / factor);
    const view = this.slidePoint(0, 0);
    const end = this.slidePoint(this.canvas.width, this.canvas.height);
    const first = (value, limit) => Math.max(0, Math.min(limit - 1, Math.floor(value / factor / tileSize)));
    const columns = Math.ceil(levelWidth / tileSize);
    const rows = Math.ceil(levelHeight / tileSize);
    for (let row = first(view.y, rows); row <= first(end.y, rows); row += 1) {
      for (let column = first(view.x, columns); column <= first(end.x, columns); column += 1) {
        const key = `${level}/${column}_${row}`;
        const bitmap = this.cache.get(key);
        if (bitmap) {
          const x = (column * tileSize - (column ? overlap : 0)) * factor;
          const y = (row * tileSize - (row ? overlap : 0)) * factor;
          const at = this.canvasPoint(x, y);
          this.context.drawImage(bitmap, at.x, at.y, bitmap.width * factor * this.scale, bitmap.height * factor * this.scale);
        } else if (fetchMissing && !this.wanted.has(key)) {
          this.wanted.add(key);
          this.queue.push(key);
        }
      }
    }
    if (fetchMissing) this.pump();
  }

  /** Starts queued tile fetches, at most a few at once; newest wishes first (the view moved to them). */
  pump() {
    const generation = this.generation;
    while (this.active < maxConcurrentFetches && this.queue.length) {
      const key = this.queue.pop();
      this.active += 1;
      this.fetchTile(key).then((bitmap) => {
        if (generation !== this.generation) { bitmap.close?.(); return; }
        this.cache.set(key, bitmap);
        if (this.cache.size > maxCachedTiles) {
          const oldest = this.cache.keys().next().value;
          this.cache.get(oldest).close?.();
          this.cache.delete(oldest);
        }
      }).catch((error) => {
        if (generation !== this.generation) return;
        this.failed += 1;
        this.onStatus(`A slide tile could not be loaded (${key}): ${error.message}`);
      }).finally(() => {
        this.active -= 1;   // in flight whatever slide it was for
        if (generation !== this.generation) { this.pump(); return; }
        this.wanted.delete(key);
        this.scheduleDraw();
      });
    }
  }

  async fetchTile(key) {
    const response = await apiFetch(`${this.base}/slide_files/${key}.${this.pyramid.format}`, { headers: { Accept: "image/png" } });
    return createImageBitmap(await response.blob());
  }

  scheduleDraw() {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => {
      this.drawScheduled = false;
      this.draw();
    });
  }

  /** Canvas pixels of a mouse event (the canvas may be shown smaller than its pixel size). */
  eventPoint(event) {
    const box = this.canvas.getBoundingClientRect();
    return { x: (event.clientX - box.left) * (this.canvas.width / box.width), y: (event.clientY - box.top) * (this.canvas.height / box.height) };
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      const point = this.eventPoint(event);
      this.zoomBy(event.deltaY < 0 ? 1.25 : 0.8, point.x, point.y);
    }, { passive: false });
    let drag = null;
    canvas.addEventListener("pointerdown", (event) => {
      drag = { start: this.eventPoint(event), last: this.eventPoint(event), moved: false };
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const point = this.eventPoint(event);
      if (Math.hypot(point.x - drag.start.x, point.y - drag.start.y) > 4) drag.moved = true;
      if (drag.moved) this.panBy(drag.last.x - point.x, drag.last.y - point.y);
      drag.last = point;
    });
    canvas.addEventListener("pointerup", (event) => {
      if (drag && !drag.moved && this.overlay && this.pyramid) {
        const point = this.eventPoint(event);
        const at = this.slidePoint(point.x, point.y);
        const feature = this.overlay.tileAt(at.x, at.y);
        if (feature) this.onTileClick(feature);
      }
      drag = null;
    });
    canvas.addEventListener("keydown", (event) => {
      const step = 100;
      const actions = {
        ArrowLeft: () => this.panBy(-step, 0), ArrowRight: () => this.panBy(step, 0),
        ArrowUp: () => this.panBy(0, -step), ArrowDown: () => this.panBy(0, step),
        "+": () => this.zoomBy(1.5), "=": () => this.zoomBy(1.5), "-": () => this.zoomBy(1 / 1.5), 0: () => this.fit(),
      };
      const action = actions[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
  }
}
