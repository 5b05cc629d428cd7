// The test pattern's timecode block (README: "The test pattern's timecode"), read from pixels in
// the page: a function source to inject with page.evaluate / addInitScript.
export const decodeTimecodeSource = `
window.hsDecodeTimecode = function (rgba, width, height) {
  const COLS = 16, ROWS = 6, CHECK = 0xA5A5;
  const cell = Math.min(16, Math.max(4, Math.floor(width / 40)));
  const x0 = Math.max(0, width - (COLS + 2) * cell) + cell;
  const y0 = Math.max(0, height - (ROWS + 2) * cell) + cell;
  const w = new Array(ROWS).fill(0);
  for (let row = 0; row < ROWS; row++) {
    for (let col = 0; col < COLS; col++) {
      const cx = x0 + col * cell + (cell >> 1), cy = y0 + row * cell + (cell >> 1);
      if (cx >= width || cy >= height) return null;
      const p = (cy * width + cx) * 4;
      const luma = (rgba[p] * 77 + rgba[p + 1] * 150 + rgba[p + 2] * 29) >> 8;
      if (luma > 128) w[row] |= 0x8000 >> col;
    }
  }
  if (w.slice(0, 5).reduce((a, b) => a ^ b, CHECK) !== w[5]) return null;
  return { frame: w[0] + w[1] * 65536, unixMs: w[2] + w[3] * 65536 + w[4] * 4294967296 };
};`;
