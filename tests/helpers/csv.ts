/**
 * A tiny CSV reader for the test datasets (R's `write.csv` output): quoted
 * fields become strings, unquoted ones numbers (`NA` → NaN). Plus factor and
 * interaction helpers that reproduce R's level order, so tests can build
 * random-effects terms by hand without the design layer.
 * @module
 */

/** A column: strings (quoted in the file) or numbers. */
export type Column = (string | number)[];

/** Parse CSV text into named columns. */
export function parseCsv(text: string): Record<string, Column> {
  const rows = text.split(/\r?\n/).filter((l) => l.length > 0).map(splitLine);
  const header = rows[0].map((h) => String(h));
  const out: Record<string, Column> = {};
  header.forEach((h, j) => (out[h] = rows.slice(1).map((r) => r[j])));
  return out;
}

/** Read a CSV file into named columns. */
export function readCsvColumns(path: string | URL): Record<string, Column> {
  return parseCsv(Deno.readTextFileSync(path));
}

function splitLine(line: string): (string | number)[] {
  const out: (string | number)[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let s = "";
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          s += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else s += line[i++];
      }
      out.push(s);
      i++; // comma
    } else {
      let j = line.indexOf(",", i);
      if (j < 0) j = line.length;
      const raw = line.slice(i, j);
      out.push(raw === "NA" ? NaN : Number(raw));
      i = j + 1;
    }
  }
  return out;
}

/** A factor: level labels and each observation's 0-based level. */
export interface Factor {
  readonly levels: string[];
  readonly index: Int32Array;
}

/**
 * R's `factor(x)`: levels are the sorted distinct values — numerically when
 * every value is a number or a numeric string (as for integer-coded factors
 * like sleepstudy's Subject or InstEval's s), else by code point (matching R
 * for the plain ASCII labels of the test data). `levels` overrides the order.
 */
export function factor(values: Column, levels?: readonly string[]): Factor {
  const labels = values.map(String);
  let lv: string[];
  if (levels) lv = [...levels];
  else {
    lv = [...new Set(labels)];
    const numeric = lv.every((s) => s.trim() !== "" && Number.isFinite(Number(s)));
    lv.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  const pos = new Map(lv.map((l, i) => [l, i]));
  const index = new Int32Array(labels.length);
  labels.forEach((l, i) => {
    const k = pos.get(l);
    if (k === undefined) throw new Error(`value ${l} is not a level`);
    index[i] = k;
  });
  return { levels: lv, index };
}

/**
 * R's `f1:f2` for factors: levels "a:b" with f1's levels varying slowest,
 * unused combinations dropped (as lme4 does for grouping factors).
 */
export function interaction(f1: Factor, f2: Factor): Factor {
  const n2 = f2.levels.length;
  const code = new Int32Array(f1.index.length);
  const used = new Uint8Array(f1.levels.length * n2);
  for (let i = 0; i < code.length; i++) {
    code[i] = f1.index[i] * n2 + f2.index[i];
    used[code[i]] = 1;
  }
  const newIndex = new Int32Array(used.length).fill(-1);
  const levels: string[] = [];
  for (let c = 0; c < used.length; c++) {
    if (used[c]) {
      newIndex[c] = levels.length;
      levels.push(`${f1.levels[Math.floor(c / n2)]}:${f2.levels[c % n2]}`);
    }
  }
  return { levels, index: Int32Array.from(code, (c) => newIndex[c]) };
}
