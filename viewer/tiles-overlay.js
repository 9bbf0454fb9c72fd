/**
 * The scan's tiles over the slide (slideview.js draws it after the slide): the score heatmap — each tissue tile
 * filled with its score's colour at an adjustable opacity — and each tile outlined in its verdict's colour.
 * The tiles come from the scan's `tiles.geojson` (level-0 pixel squares; QuPath reads the same file).
 *
 * The colour scale is the one of the scan's heatmap.png: viridis over −log10(1 − score) / 4, so 0.9 sits at a
 * quarter, 0.99 (the default threshold) at the middle and 0.9999 at the top; not_tissue tiles are not filled.
 *
 *   const overlay = TilesOverlay.from(await (await apiFetch(`/v1/scans/${id}/tiles.geojson`)).json());
 *   overlay.opacity = 0.5;  overlay.outlines = true;
 *   overlay.tileAt(1200, 800);    // the GeoJSON feature under that level-0 point, or null
 */

/** Viridis at eleven stops (matplotlib's), linearly interpolated. */
const viridis = [
  [68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140],
  [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37],
];

/** The heatmap's position of a score in [0, 1]: −log10(1 − score) / 4, clamped. */
export function scorePosition(score) {
  if (!(score >= 0)) return 0;
  if (score >= 0.9999) return 1;
  return Math.min(1, Math.max(0, -Math.log10(1 - score) / 4));
}

export function scoreColour(score) {
  const position = scorePosition(score) * (viridis.length - 1);
  const low = Math.floor(position);
  const high = Math.min(viridis.length - 1, low + 1);
  const fraction = position - low;
  const channel = (index) => Math.round(viridis[low][index] * (1 - fraction) + viridis[high][index] * fraction);
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

export const verdictColours = { normal: "#17a34a", anomalous: "#e00000", not_tissue: "#8a8a96" };

export class TilesOverlay {
  /** @param tiles [{ index, x, y, side, verdict, score, name, feature }] in level-0 pixels. */
  constructor(tiles) {
    this.tiles = tiles;
    this.opacity = 0.5;
    this.outlines = true;
  }

  /** The tiles of a tiles.geojson FeatureCollection (its Polygon rings are axis-aligned squares). */
  static from(collection) {
    const tiles = [];
    for (const feature of collection?.features ?? []) {
      const ring = feature?.geometry?.coordinates?.[0];
      if (!Array.isArray(ring) || ring.length < 4) continue;
      const xs = ring.map((point) => point[0]);
      const ys = ring.map((point) => point[1]);
      const x = Math.min(...xs);
      const y = Math.min(...ys);
      const properties = feature.properties ?? {};
      const measurements = properties.measurements ?? {};
      tiles.push({
        index: Number(measurements.tile), x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y,
        verdict: properties.classification?.name ?? "unknown", score: Number(measurements.score),
        name: String(properties.name ?? ""), feature,
      });
    }
    return new TilesOverlay(tiles);
  }

  /** The tile under a level-0 point; where tiles overlap (a stride below the patch size), the last drawn. */
  tileAt(x, y) {
    for (let index = this.tiles.length - 1; index >= 0; index -= 1) {
      const tile = this.tiles[index];
      if (x >= tile.x && x < tile.x + tile.width && y >= tile.y && y < tile.y + tile.height) return tile;
    }
    return null;
  }

  draw(context, view) {
    const topLeft = view.slidePoint(0, 0);
    const bottomRight = view.slidePoint(view.canvas.width, view.canvas.height);
    const visible = this.tiles.filter((tile) => tile.x < bottomRight.x && tile.x + tile.width > topLeft.x
      && tile.y < bottomRight.y && tile.y + tile.height > topLeft.y);
    context.save();
    if (this.opacity > 0) {
      context.globalAlpha = this.opacity;
      for (const tile of visible) {
        if (tile.verdict === "not_tissue") continue;
        const at = view.canvasPoint(tile.x, tile.y);
        context.fillStyle = scoreColour(tile.score);
        context.fillRect(at.x, at.y, tile.width * view.scale, tile.height * view.scale);
      }
    }
    if (this.outlines) {
      context.globalAlpha = 1;
      context.lineWidth = 2;
      for (const tile of visible) {
        const at = view.canvasPoint(tile.x, tile.y);
        context.strokeStyle = verdictColours[tile.verdict] ?? "#000000";
        context.strokeRect(at.x + 1, at.y + 1, tile.width * view.scale - 2, tile.height * view.scale - 2);
      }
    }
    if (this.selected) {
      const at = view.canvasPoint(this.selected.x, this.selected.y);
      context.lineWidth = 4;
      context.strokeStyle = "#1a56c4";
      context.strokeRect(at.x - 2, at.y - 2, this.selected.width * view.scale + 4, this.selected.height * view.scale + 4);
    }
    context.restore();
  }
}
