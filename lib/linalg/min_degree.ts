/**
 * Minimum-degree elimination ordering on an explicit elimination graph held
 * as bitsets, for sparse Cholesky factorization of a symmetric matrix whose
 * pattern is given as an undirected graph (no self loops).
 *
 * Each step eliminates a node of least current degree (ties: lowest index),
 * joins its neighbours into a clique, and records them: the neighbours at
 * elimination are exactly the pattern of that node's column of L, so the
 * symbolic factorization comes for free. The elimination may stop early
 * (`stop`), when the remaining graph is dense enough that a dense
 * factorization of what is left is cheaper; the remaining nodes then follow
 * in index order and form one dense block.
 *
 * Memory is n²/8 bytes (20 MB for n = 12,650); each step costs O(n) to find
 * the node and O(degree · n / 32) to update the graph.
 * @module
 */

/** An undirected graph on n nodes as an n × ⌈n/32⌉ bit matrix. */
export class BitGraph {
  /** Number of nodes. */
  readonly n: number;
  /** 32-bit words per row. */
  readonly words: number;
  /** Row i's bits at `i * words`. */
  readonly bits: Uint32Array;

  constructor(n: number) {
    this.n = n;
    this.words = (n + 31) >>> 5;
    this.bits = new Uint32Array(n * this.words);
  }

  /** Add the edge {i, j} (ignored when i = j). */
  add(i: number, j: number): void {
    if (i === j) return;
    this.bits[i * this.words + (j >>> 5)] |= 1 << (j & 31);
    this.bits[j * this.words + (i >>> 5)] |= 1 << (i & 31);
  }
}

/** The result of {@link minimumDegreeOrder}. */
export interface EliminationOrder {
  /** order[pos] = the node eliminated at position pos. */
  readonly order: Int32Array;
  /** position[node] = its position (inverse of order). */
  readonly position: Int32Array;
  /** Nodes eliminated one by one (positions 0 .. nSparse-1); the rest are dense. */
  readonly nSparse: number;
  /**
   * Pattern of L's columns 0 .. nSparse-1 in positions: column j's rows are
   * `rowIdx[colPtr[j] .. colPtr[j+1]-1]`, ascending, the first being j itself.
   */
  readonly colPtr: Int32Array;
  readonly rowIdx: Int32Array;
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Minimum-degree ordering of `g` (which is consumed: its bits are
 * overwritten). `stop(minDegree, remaining)` is asked before each
 * elimination; returning true leaves the remaining nodes as a dense block.
 *
 * @example
 * ```ts
 * const g = new BitGraph(3);
 * g.add(0, 1); g.add(1, 2); // a path: the ends go first
 * const o = minimumDegreeOrder(g, () => false);
 * o.order; // [0, 1, 2]
 * ```
 */
export function minimumDegreeOrder(
  g: BitGraph,
  stop: (minDegree: number, remaining: number) => boolean,
): EliminationOrder {
  const { n, words: W, bits } = g;
  const deg = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let w = i * W; w < (i + 1) * W; w++) d += popcount(bits[w]);
    deg[i] = d;
  }
  const alive = new Uint8Array(n).fill(1);
  const order = new Int32Array(n);
  const patterns: Int32Array[] = [];
  const nbrs = new Int32Array(n);
  let step = 0;
  for (; step < n; step++) {
    let v = -1, best = n + 1;
    for (let i = 0; i < n; i++) {
      if (alive[i] && deg[i] < best) {
        best = deg[i];
        v = i;
      }
    }
    if (stop(best, n - step)) break;
    // neighbours of v (all alive: eliminated nodes are cleared from every row)
    let nn = 0;
    const rv = v * W;
    for (let w = 0; w < W; w++) {
      let x = bits[rv + w];
      while (x !== 0) {
        const t = x & -x;
        nbrs[nn++] = (w << 5) + (31 - Math.clz32(t));
        x ^= t;
      }
    }
    for (let a = 0; a < nn; a++) {
      const u = nbrs[a];
      const ru = u * W;
      let d = 0;
      for (let w = 0; w < W; w++) {
        const x = bits[ru + w] | bits[rv + w];
        bits[ru + w] = x;
      }
      bits[ru + (u >>> 5)] &= ~(1 << (u & 31));
      bits[ru + (v >>> 5)] &= ~(1 << (v & 31));
      for (let w = 0; w < W; w++) d += popcount(bits[ru + w]);
      deg[u] = d;
    }
    alive[v] = 0;
    order[step] = v;
    patterns.push(nbrs.slice(0, nn));
  }
  const nSparse = step;
  for (let i = 0; i < n; i++) if (alive[i]) order[step++] = i;
  const position = new Int32Array(n);
  for (let pos = 0; pos < n; pos++) position[order[pos]] = pos;
  const colPtr = new Int32Array(nSparse + 1);
  for (let j = 0; j < nSparse; j++) colPtr[j + 1] = colPtr[j] + patterns[j].length + 1;
  const rowIdx = new Int32Array(colPtr[nSparse]);
  for (let j = 0; j < nSparse; j++) {
    const pat = patterns[j];
    const rows = new Int32Array(pat.length);
    for (let a = 0; a < pat.length; a++) rows[a] = position[pat[a]];
    rows.sort();
    rowIdx[colPtr[j]] = j;
    rowIdx.set(rows, colPtr[j] + 1);
  }
  return { order, position, nSparse, colPtr, rowIdx };
}
