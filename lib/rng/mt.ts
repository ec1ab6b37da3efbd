/**
 * R's default uniform generator: the Mersenne-Twister (MT19937) exactly as R
 * seeds and uses it (`RNGkind("Mersenne-Twister")`, R's `src/main/RNG.c`).
 *
 * Two details make R's stream differ from the reference MT19937 code, and both
 * are reproduced here:
 *  - `set.seed(s)` does not call MT's `sgenrand`: it scrambles the seed with
 *    50 rounds of the LCG `s = 69069 s + 1`, then fills R's 625-word seed
 *    vector with 625 more LCG steps and sets the first word (the position
 *    `mti`) to 624, so the first draw regenerates the whole state block;
 *  - `unif_rand()` maps the 32-bit output to [0, 1) by multiplying with
 *    2.3283064365386963e-10 (= 2^-32) and then moves exact 0 and 1 inside
 *    (0, 1) ("fixup").
 * @module
 */

/** Degree of recurrence (state words). */
const N = 624;
/** Middle word offset. */
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const TEMPERING_MASK_B = 0x9d2c5680;
const TEMPERING_MASK_C = 0xefc60000;
/** R's `i2_32m1`, 1/(2^32 - 1), used by `fixup()` to keep draws off 0 and 1. */
const I2_32M1 = 2.328306437080797e-10;
/** R's scaling of the tempered 32-bit word to [0, 1). */
const MT_SCALE = 2.3283064365386963e-10;

/** R's `.Random.seed[1]` for Mersenne-Twister / Inversion / Rejection. */
export const RNG_KIND_CODE = 10403;

/**
 * Checks and converts a seed the way `set.seed()` does: R calls
 * `asInteger(seed)` (truncation towards zero; NA outside the int range or
 * for NA_integer_ = -2^31) and rejects NA with "supplied seed is not a valid
 * integer".
 */
export function toSeed(seed: number): number {
  if (typeof seed !== "number" || !Number.isFinite(seed)) {
    throw new RangeError(
      `seed must be a finite number (an R integer), got ${String(seed)}`,
    );
  }
  const s = Math.trunc(seed);
  if (s > 2147483647 || s < -2147483647) {
    throw new RangeError(
      `supplied seed is not a valid integer: ${seed} is outside ` +
        "[-2147483647, 2147483647] (R's integer range)",
    );
  }
  return s;
}

/**
 * The Mersenne-Twister stream of R, seeded like `set.seed(seed)`.
 *
 * @example
 * ```ts
 * import { MersenneTwister } from "./mt.ts";
 * const mt = new MersenneTwister(42);
 * mt.unifRand(); // 0.9148060434963554, as R's set.seed(42); runif(1)
 * ```
 */
export class MersenneTwister {
  /** The 624 state words (R's `dummy[1..624]`). */
  readonly #mt = new Uint32Array(N);
  /** Position in the state block (R's `mti`, stored in `dummy[0]`). */
  #mti = N;
  /**
   * The uniforms of the current block, tempered, scaled and fixed up once
   * per twist: a draw is then one array read (about 5× faster than
   * tempering per call), and the raw state in `#mt` is untouched.
   */
  readonly #u = new Float64Array(N);

  /**
   * Seeds the generator as R's `set.seed(seed)` does.
   * @param seed an integer in [-2147483647, 2147483647]; non-integers are
   *   truncated towards zero as R's `asInteger()` does
   */
  constructor(seed: number) {
    let s = toSeed(seed) >>> 0; // R stores the seed in an unsigned Int32.
    // Initial scrambling (RNG_Init): 50 LCG steps, all modulo 2^32.
    for (let j = 0; j < 50; j++) s = (Math.imul(69069, s) + 1) >>> 0;
    // Then 625 more steps fill dummy[0..624]; dummy[0] (mti) is then reset to
    // N by FixupSeeds(initial = TRUE), so only dummy[1..624] survive.
    s = (Math.imul(69069, s) + 1) >>> 0; // dummy[0], overwritten below
    for (let j = 0; j < N; j++) {
      s = (Math.imul(69069, s) + 1) >>> 0;
      this.#mt[j] = s;
    }
    this.#mti = N;
    // R re-randomizes an all-zero state (FixupSeeds); the LCG cannot produce
    // 624 zeros in a row, so that branch is unreachable from set.seed().
  }

  /** Regenerates the 624 state words (the "twist"). */
  #twist(): void {
    const mt = this.#mt;
    let kk = 0;
    let y: number;
    for (; kk < N - M; kk++) {
      y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ ((y & 1) === 0 ? 0 : MATRIX_A);
    }
    for (; kk < N - 1; kk++) {
      y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ ((y & 1) === 0 ? 0 : MATRIX_A);
    }
    y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ ((y & 1) === 0 ? 0 : MATRIX_A);
    this.#mti = 0;
    const u = this.#u;
    for (let i = 0; i < N; i++) {
      let t = mt[i];
      t ^= t >>> 11;
      t ^= (t << 7) & TEMPERING_MASK_B;
      t ^= (t << 15) & TEMPERING_MASK_C;
      t ^= t >>> 18;
      const x = (t >>> 0) * MT_SCALE;
      // R's fixup(): never return 0 or 1 (only 0 can actually occur here).
      u[i] = x <= 0 ? 0.5 * I2_32M1 : 1 - x <= 0 ? 1 - 0.5 * I2_32M1 : x;
    }
  }

  /** R's `MT_genrand()`: the next tempered word scaled to [0, 1). */
  genrand(): number {
    if (this.#mti >= N) this.#twist();
    let y = this.#mt[this.#mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & TEMPERING_MASK_B;
    y ^= (y << 15) & TEMPERING_MASK_C;
    y ^= y >>> 18;
    return (y >>> 0) * MT_SCALE;
  }

  /**
   * R's `unif_rand()`: a uniform draw strictly inside (0, 1).
   * @returns the next uniform number of the stream
   */
  unifRand(): number {
    if (this.#mti >= N) this.#twist();
    return this.#u[this.#mti++];
  }

  /**
   * The state as R's `.Random.seed` holds it: the kind code 10403, then
   * `mti`, then the 624 state words as signed 32-bit integers.
   * @returns a new Int32Array of length 626
   */
  randomSeed(): Int32Array {
    const out = new Int32Array(N + 2);
    out[0] = RNG_KIND_CODE;
    out[1] = this.#mti;
    out.set(new Int32Array(this.#mt.buffer, this.#mt.byteOffset, N), 2);
    return out;
  }
}
