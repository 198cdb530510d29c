/**
 * A grid of images with its row and column labels drawn into the picture itself, so that a PNG
 * shown on its own still says what each cell is. Cells are enlarged with nearest-neighbour (the
 * embedded model draws 64×64); the labels are SVG text composited by sharp (librsvg + fontconfig).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { InvalidArgumentError } from '@latentkit/core';
import type { Rgb8Image } from './images';

/** One row of a {@link saveLabelledGrid}: its label and its cells, left to right. */
export interface GridRow {
  readonly label: string;
  readonly images: readonly Rgb8Image[];
}

/** Layout of a {@link saveLabelledGrid}. */
export interface LabelledGridOptions {
  /** A line above the grid (what the whole picture shows). */
  readonly title?: string;
  /** One label per column, drawn above it. */
  readonly columns?: readonly string[];
  /** Enlargement of every cell (nearest-neighbour); default 3. */
  readonly scale?: number;
}

const FONT_SIZE = 13;
const LINE = FONT_SIZE + 5;
const GAP = 4;
const CHAR_WIDTH = FONT_SIZE * 0.6;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Splits a label into lines of at most `width` characters at spaces (a long word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function enlarged(image: Rgb8Image, scale: number): Buffer {
  const width = image.width * scale;
  const out = Buffer.alloc(width * image.height * scale * 3);
  for (let y = 0; y < image.height * scale; y++) {
    const sourceRow = Math.floor(y / scale) * image.width;
    for (let x = 0; x < width; x++) {
      const s = (sourceRow + Math.floor(x / scale)) * image.channels;
      const o = (y * width + x) * 3;
      const grey = image.channels === 1;
      out[o] = image.data[s]!;
      out[o + 1] = image.data[grey ? s : s + 1]!;
      out[o + 2] = image.data[grey ? s : s + 2]!;
    }
  }
  return out;
}

/**
 * Writes a grid of images as PNG with the row labels on the left, the column labels on top and an
 * optional title, all drawn into the image. Rows may have different numbers of cells; every cell
 * must have the first cell's size.
 *
 * @example
 * ```ts
 * await saveLabelledGrid('out/grid.png', [{ label: 'DDIM', images: ddim }, { label: 'Euler', images: euler }], {
 *   columns: ['step 1', 'step 2', 'step 3'],
 *   title: 'x̂₀ at each step',
 * });
 * ```
 */
export async function saveLabelledGrid(file: string, rows: readonly GridRow[], options: LabelledGridOptions = {}): Promise<string> {
  const first = rows[0]?.images[0];
  if (!first) throw new InvalidArgumentError({ name: 'rows', expected: 'at least one row with one image', actual: `${rows.length} row(s)` });
  const scale = options.scale ?? 3;
  if (!Number.isInteger(scale) || scale < 1 || scale > 16) throw new InvalidArgumentError({ name: 'scale', expected: 'an integer in 1…16', actual: String(scale) });
  for (const row of rows) {
    for (const image of row.images) {
      if (image.width !== first.width || image.height !== first.height) {
        throw new InvalidArgumentError({ name: `rows '${row.label}'`, expected: `cells of ${first.width}×${first.height}`, actual: `${image.width}×${image.height}` });
      }
    }
  }
  const cellWidth = first.width * scale;
  const cellHeight = first.height * scale;
  const columnCount = Math.max(...rows.map((row) => row.images.length), options.columns?.length ?? 0);
  // Row labels wrap at 24 characters; the column is as wide as the longest line (a long word stays whole).
  const rowLines = rows.map((row) => wrap(row.label, 24));
  const labelChars = Math.max(4, ...rowLines.flat().map((line) => line.length));
  const labelWidth = Math.ceil(labelChars * CHAR_WIDTH) + 2 * GAP;
  const columnLines = (options.columns ?? []).map((label) => wrap(label, Math.max(4, Math.floor(cellWidth / CHAR_WIDTH))));
  const columnHeaderHeight = columnLines.length ? Math.max(...columnLines.map((lines) => lines.length)) * LINE + GAP : 0;
  const titleHeight = options.title ? LINE + GAP : 0;
  const top = GAP + titleHeight + columnHeaderHeight;
  const width = labelWidth + columnCount * (cellWidth + GAP) + GAP;
  const height = top + rows.length * (cellHeight + GAP);

  const texts: string[] = [];
  const text = (x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end', bold = false) =>
    texts.push(`<text x="${x}" y="${y}" text-anchor="${anchor}"${bold ? ' font-weight="bold"' : ''}>${escapeXml(content)}</text>`);
  if (options.title) text(GAP, GAP + FONT_SIZE, options.title, 'start', true);
  columnLines.forEach((lines, column) => {
    const centre = labelWidth + column * (cellWidth + GAP) + cellWidth / 2;
    lines.forEach((line, i) => text(centre, GAP + titleHeight + FONT_SIZE + i * LINE, line, 'middle'));
  });
  const composites: sharp.OverlayOptions[] = [];
  rows.forEach((row, r) => {
    const y = top + r * (cellHeight + GAP);
    const lines = rowLines[r]!;
    lines.forEach((line, i) => text(labelWidth - GAP, y + cellHeight / 2 - ((lines.length - 1) * LINE) / 2 + FONT_SIZE / 2 + i * LINE, line, 'end'));
    row.images.forEach((image, c) => {
      composites.push({
        input: enlarged(image, scale),
        raw: { width: cellWidth, height: cellHeight, channels: 3 },
        left: labelWidth + c * (cellWidth + GAP),
        top: y,
      });
    });
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="DejaVu Sans, sans-serif" font-size="${FONT_SIZE}" fill="#000">${texts.join('')}</g></svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composites)
    .png()
    .toFile(file);
  return file;
}
