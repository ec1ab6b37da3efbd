/**
 * WebAssembly text of the SIMD (f64x2) kernels behind {@link potrf}'s O(n³)
 * steps. `simd_binary.ts` holds the assembled bytes; regenerate them with
 * `deno run -A lib/linalg/simd_build.ts` after editing this file.
 *
 * The kernels perform exactly the scalar operations of their JavaScript
 * counterparts (`syrkLowerPacked`'s tiles, its row packing, and `panelSolve`),
 * in the same order, with separate multiply and add (no fused multiply-add),
 * so the SIMD and plain paths give bitwise-identical factors. Every kernel
 * works on a range (of tile columns, row groups or rows) and each output
 * element is computed by exactly one call, so splitting the ranges between
 * threads (`parallel.ts`) gives the same bits too.
 *
 * The module is assembled twice: importing an ordinary memory
 * ({@link SIMD_WAT}) and a shared one ({@link SIMD_WAT_SHARED}, for the
 * two-thread factorization; WebAssembly only links a shared memory to a module
 * that declares it shared).
 *
 * Addresses are byte offsets into the module's imported memory; leading
 * dimensions are in doubles.
 * @module
 */

/** The kernels' WebAssembly text, importing `env.memory` (shared or not). */
export function simdWat(shared: boolean): string {
  const memory = shared ? "(memory 1 65536 shared)" : "(memory 1)";
  return `(module
  (import "env" "memory" ${memory})

  ;; C -= P P^T on the 4x4 tiles (row group gi, column group gj) with
  ;; gj0 <= gj < gj1 and gj <= gi < mg (the full row groups). Diagonal tiles
  ;; (gi = gj) update their lower triangle only. P is packed in 4-row groups:
  ;; group g at pack + g*kb*32, element (r, k) at + k*32 + r*8. C(0,0) at c,
  ;; leading dimension ldc. kb >= 1.
  (func (export "syrkTiles")
    (param $pack i32) (param $kb i32) (param $mg i32) (param $c i32) (param $ldc i32)
    (param $gj0 i32) (param $gj1 i32)
    (local $gj i32) (local $gi i32) (local $k i32)
    (local $pa i32) (local $pb i32) (local $stride i32) (local $cc i32) (local $ldb i32)
    (local $a01 v128) (local $a23 v128) (local $b v128)
    (local $c0l v128) (local $c0h v128) (local $c1l v128) (local $c1h v128)
    (local $c2l v128) (local $c2h v128) (local $c3l v128) (local $c3h v128)
    (local.set $stride (i32.shl (local.get $kb) (i32.const 5)))
    (local.set $ldb (i32.shl (local.get $ldc) (i32.const 3)))
    (if (i32.gt_u (local.get $gj1) (local.get $mg)) (then (local.set $gj1 (local.get $mg))))
    (local.set $gj (local.get $gj0))
    (block $endj (loop $lj
      (br_if $endj (i32.ge_u (local.get $gj) (local.get $gj1)))
      (local.set $gi (local.get $gj))
      (block $endi (loop $li
        (br_if $endi (i32.ge_u (local.get $gi) (local.get $mg)))
        (local.set $c0l (v128.const i64x2 0 0)) (local.set $c0h (v128.const i64x2 0 0))
        (local.set $c1l (v128.const i64x2 0 0)) (local.set $c1h (v128.const i64x2 0 0))
        (local.set $c2l (v128.const i64x2 0 0)) (local.set $c2h (v128.const i64x2 0 0))
        (local.set $c3l (v128.const i64x2 0 0)) (local.set $c3h (v128.const i64x2 0 0))
        (local.set $pa (i32.add (local.get $pack) (i32.mul (local.get $gi) (local.get $stride))))
        (local.set $pb (i32.add (local.get $pack) (i32.mul (local.get $gj) (local.get $stride))))
        (local.set $k (local.get $kb))
        (loop $lk
          (local.set $a01 (v128.load (local.get $pa)))
          (local.set $a23 (v128.load offset=16 (local.get $pa)))
          (local.set $b (v128.load64_splat (local.get $pb)))
          (local.set $c0l (f64x2.add (local.get $c0l) (f64x2.mul (local.get $a01) (local.get $b))))
          (local.set $c0h (f64x2.add (local.get $c0h) (f64x2.mul (local.get $a23) (local.get $b))))
          (local.set $b (v128.load64_splat offset=8 (local.get $pb)))
          (local.set $c1l (f64x2.add (local.get $c1l) (f64x2.mul (local.get $a01) (local.get $b))))
          (local.set $c1h (f64x2.add (local.get $c1h) (f64x2.mul (local.get $a23) (local.get $b))))
          (local.set $b (v128.load64_splat offset=16 (local.get $pb)))
          (local.set $c2l (f64x2.add (local.get $c2l) (f64x2.mul (local.get $a01) (local.get $b))))
          (local.set $c2h (f64x2.add (local.get $c2h) (f64x2.mul (local.get $a23) (local.get $b))))
          (local.set $b (v128.load64_splat offset=24 (local.get $pb)))
          (local.set $c3l (f64x2.add (local.get $c3l) (f64x2.mul (local.get $a01) (local.get $b))))
          (local.set $c3h (f64x2.add (local.get $c3h) (f64x2.mul (local.get $a23) (local.get $b))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br_if $lk (local.get $k)))
        (local.set $cc (i32.add (local.get $c)
          (i32.shl (i32.add (i32.mul (i32.shl (local.get $gj) (i32.const 2)) (local.get $ldc))
                            (i32.shl (local.get $gi) (i32.const 2))) (i32.const 3))))
        (if (i32.eq (local.get $gi) (local.get $gj))
          (then
            ;; diagonal tile: column r gets rows r..3
            (v128.store (local.get $cc) (f64x2.sub (v128.load (local.get $cc)) (local.get $c0l)))
            (v128.store offset=16 (local.get $cc) (f64x2.sub (v128.load offset=16 (local.get $cc)) (local.get $c0h)))
            (local.set $cc (i32.add (local.get $cc) (local.get $ldb)))
            (f64.store offset=8 (local.get $cc)
              (f64.sub (f64.load offset=8 (local.get $cc)) (f64x2.extract_lane 1 (local.get $c1l))))
            (v128.store offset=16 (local.get $cc) (f64x2.sub (v128.load offset=16 (local.get $cc)) (local.get $c1h)))
            (local.set $cc (i32.add (local.get $cc) (local.get $ldb)))
            (v128.store offset=16 (local.get $cc) (f64x2.sub (v128.load offset=16 (local.get $cc)) (local.get $c2h)))
            (local.set $cc (i32.add (local.get $cc) (local.get $ldb)))
            (f64.store offset=24 (local.get $cc)
              (f64.sub (f64.load offset=24 (local.get $cc)) (f64x2.extract_lane 1 (local.get $c3h)))))
          (else
            (v128.store (local.get $cc) (f64x2.sub (v128.load (local.get $cc)) (local.get $c0l)))
            (v128.store offset=16 (local.get $cc) (f64x2.sub (v128.load offset=16 (local.get $cc)) (local.get $c0h)))
            (local.set $cc (i32.add (local.get $cc) (local.get $ldb)))
            (v128.store (local.get $cc) (f64x2.sub (v128.load (local.get $cc)) (local.get $c1l)))
            (v128.store offset=16 (local.get $cc) (f64x2.sub (v128.load offset=16 (local.get $cc)) (local.get $c1h)))
            (local.set $cc (i32.add (local.get $cc) (local.get $ldb)))
            (v128.store (local.get $cc) (f64x2.sub (v128.load (local.get $cc)) (local.get $c2l)))
            (v128.store offset=16 (local.get $cc) (f64x2.sub (v128.load offset=16 (local.get $cc)) (local.get $c2h)))
            (local.set $cc (i32.add (local.get $cc) (local.get $ldb)))
            (v128.store (local.get $cc) (f64x2.sub (v128.load (local.get $cc)) (local.get $c3l)))
            (v128.store offset=16 (local.get $cc) (f64x2.sub (v128.load offset=16 (local.get $cc)) (local.get $c3h)))))
        (local.set $gi (i32.add (local.get $gi) (i32.const 1)))
        (br $li)))
      (local.set $gj (i32.add (local.get $gj) (i32.const 1)))
      (br $lj))))

  ;; Pack the full 4-row groups g0 <= g < g1 of the panel P (P(0,0) at p,
  ;; leading dimension lda, kb columns) into pack (layout as for syrkTiles).
  (func (export "packRows")
    (param $p i32) (param $lda i32) (param $kb i32) (param $g0 i32) (param $g1 i32) (param $pack i32)
    (local $g i32) (local $k i32) (local $src i32) (local $dst i32) (local $ldb i32)
    (local.set $ldb (i32.shl (local.get $lda) (i32.const 3)))
    (local.set $g (local.get $g0))
    (block $endg (loop $lg
      (br_if $endg (i32.ge_u (local.get $g) (local.get $g1)))
      (local.set $src (i32.add (local.get $p) (i32.shl (local.get $g) (i32.const 5))))
      (local.set $dst (i32.add (local.get $pack)
        (i32.mul (local.get $g) (i32.shl (local.get $kb) (i32.const 5)))))
      (local.set $k (local.get $kb))
      (block $endk (loop $lk
        (br_if $endk (i32.eqz (local.get $k)))
        (v128.store (local.get $dst) (v128.load (local.get $src)))
        (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
        (local.set $src (i32.add (local.get $src) (local.get $ldb)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $lk)))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $lg))))

  ;; y[0..m) -= x[0..m) * alpha (y at byte offset py, x at px)
  (func $axpySub (param $py i32) (param $px i32) (param $m i32) (param $alpha f64)
    (local $i i32) (local $end i32) (local $a2 v128)
    (local.set $a2 (f64x2.splat (local.get $alpha)))
    (local.set $end (i32.shl (i32.and (local.get $m) (i32.const -2)) (i32.const 3)))
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $py) (local.get $i))
        (f64x2.sub (v128.load (i32.add (local.get $py) (local.get $i)))
                   (f64x2.mul (v128.load (i32.add (local.get $px) (local.get $i))) (local.get $a2))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
    (if (i32.and (local.get $m) (i32.const 1))
      (then
        (f64.store (i32.add (local.get $py) (local.get $end))
          (f64.sub (f64.load (i32.add (local.get $py) (local.get $end)))
                   (f64.mul (f64.load (i32.add (local.get $px) (local.get $end))) (local.get $alpha)))))))

  ;; y[0..m) *= s
  (func $scale (param $py i32) (param $m i32) (param $s f64)
    (local $i i32) (local $end i32) (local $s2 v128)
    (local.set $s2 (f64x2.splat (local.get $s)))
    (local.set $end (i32.shl (i32.and (local.get $m) (i32.const -2)) (i32.const 3)))
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $py) (local.get $i))
        (f64x2.mul (v128.load (i32.add (local.get $py) (local.get $i))) (local.get $s2)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
    (if (i32.and (local.get $m) (i32.const 1))
      (then
        (f64.store (i32.add (local.get $py) (local.get $end))
          (f64.mul (f64.load (i32.add (local.get $py) (local.get $end))) (local.get $s))))))

  ;; B <- B L^-T for the m x kb panel B at byte offset b and the kb x kb
  ;; lower factor L at byte offset l, both with leading dimension ld.
  (func (export "panelSolve")
    (param $b i32) (param $m i32) (param $kb i32) (param $l i32) (param $ld i32)
    (local $j i32) (local $k i32) (local $ldb i32) (local $ljk f64)
    (local.set $ldb (i32.shl (local.get $ld) (i32.const 3)))
    (block $endj (loop $lj
      (br_if $endj (i32.ge_u (local.get $j) (local.get $kb)))
      (local.set $k (i32.const 0))
      (block $endk (loop $lk
        (br_if $endk (i32.ge_u (local.get $k) (local.get $j)))
        (local.set $ljk (f64.load (i32.add (local.get $l)
          (i32.add (i32.mul (local.get $k) (local.get $ldb)) (i32.shl (local.get $j) (i32.const 3))))))
        (if (f64.ne (local.get $ljk) (f64.const 0))
          (then (call $axpySub
            (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $ldb)))
            (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $ldb)))
            (local.get $m) (local.get $ljk))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk)))
      (call $scale (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $ldb))) (local.get $m)
        (f64.div (f64.const 1) (f64.load (i32.add (local.get $l)
          (i32.add (i32.mul (local.get $j) (local.get $ldb)) (i32.shl (local.get $j) (i32.const 3)))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $lj))))
)
`;
}

/** The kernels importing an ordinary (unshared) memory. */
export const SIMD_WAT: string = simdWat(false);

/** The kernels importing a shared memory (for `parallel.ts`). */
export const SIMD_WAT_SHARED: string = simdWat(true);
