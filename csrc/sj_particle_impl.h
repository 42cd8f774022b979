/* swarmjac per-particle kernels, templated on the element type (REAL, SUF) and on the instruction-set level
 * (ISA): sj_kernels_type.h (included by sj_kernels.c once per type) includes this file once per ISA level,
 * inside a target region (gcc or clang pragma) for the x86-64-v3 and v4 levels, so that every constant below
 * (vector width, register tile) is the one of the ISA it is compiled for.  The per-type entry points
 * (sj_kernels_impl.h) pick one level per call.
 *
 * One layer loop serves every entry point.  A block of SJ_BLOCK samples lives in a buffer laid out
 * (width, n_cols) with n_cols = (1 + n_dir) * SJ_BLOCK: for each unit, the value lane block first, then
 * one lane block per carried tangent direction.  A dense layer is then one small matrix product over all
 * those columns (bias only on the value columns), and the activation scales the tangent columns by f'(z):
 *     z = W a + b,   dz = W da,   a' = f(z),   da' = f'(z) * dz            (forward mode)
 * Reverse mode runs the value-only sweep, keeps f'(z) per layer, and sweeps back once per output with the
 * same dense kernel on W transposed.
 * All hand-tuning is in dense_rows(): a register tile of R rows x NV vectors of samples (SJ_ACC = R * NV
 * accumulators: 8 x 2 with AVX-512; a narrow remainder chunk gets more vectors per row), fully unrolled;
 * the weights are packed once per particle into the order that tile reads them (W for the forward sweep,
 * W^T for the reverse one), in chunks of SJ_TR rows and then 4, 2, 1 for the remainder, so one kernel
 * serves every width without a scalar tail.  Sample columns need no tail: a block is SJ_BLOCK lanes,
 * padded. */

#define SJ_CAT3_(a, b, c) a##_##b##_##c
#define SJ_CAT3(a, b, c) SJ_CAT3_(a, b, c)
#define FN(name) SJ_CAT3(sj_##name, SUF, ISA)

/* Vector width and register tile of this ISA level.  A full tile holds SJ_TR x 2 vectors of accumulators:
 * 16 of the 32 zmm registers with AVX-512 and of the 32 q registers of AArch64 NEON, 8 of the 16 ymm / xmm
 * registers otherwise, which leaves room for the two source vectors and the broadcast weights, and gives
 * enough independent FMA chains to cover the FMA latency on two pipes.  A dispatch level sets its own
 * (sj_kernels_type.h); the baseline instance goes by what the build targets. */
#if defined(SJ_LEVEL_VBYTES)
#define SJ_VBYTES SJ_LEVEL_VBYTES
#define SJ_TR SJ_LEVEL_TR
#elif defined(__AVX512F__)
#define SJ_VBYTES 64
#define SJ_TR 8
#elif defined(__AVX__)
#define SJ_VBYTES 32
#define SJ_TR 4
#elif defined(__aarch64__) || defined(_M_ARM64)
#define SJ_VBYTES 16
#define SJ_TR 8
#else
#define SJ_VBYTES 16
#define SJ_TR 4
#endif
#define SJ_VL ((int)(SJ_VBYTES / sizeof(REAL))) /* lanes per vector */
#define SJ_ACC (2 * SJ_TR)                       /* accumulator vectors of a tile */

/* The vector type and its operations.  gcc and clang: GNU vector extensions.  may_alias: the buffers
 * are REAL arrays read and written through this type; aligned(sizeof(REAL)): unaligned loads and stores,
 * since the input blocks come from NumPy, which does not align to vectors (the scratch buffers are
 * aligned, and unaligned instructions cost nothing extra on aligned data).  Other compilers (MSVC), or
 * SJ_SCALAR_VECTORS for testing that path with gcc: a struct of SJ_VL lanes and plain lane loops, which
 * those compilers vectorise on their own. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(SJ_SCALAR_VECTORS)
typedef REAL FN(vec) __attribute__((vector_size(SJ_VBYTES), may_alias, aligned(sizeof(REAL))));
#define SJ_VZERO() ((FN(vec)){0})
#define SJ_VSPLAT(x) ((FN(vec)){0} + (x))
#define SJ_VLOAD(p) (*(const FN(vec) *)(p))
#define SJ_VSTORE(p, v) (*(FN(vec) *)(p) = (v))
#define SJ_VFMA(acc, a, b) ((acc) += (a) * (b))   /* acc += a * b, lane by lane */
#define SJ_VFMA_S(acc, w, b) ((acc) += (w) * (b)) /* acc += w * b, w a scalar */
#define SJ_VMUL(acc, a) ((acc) *= (a))
#define SJ_VADD(acc, a) ((acc) += (a))
#else
typedef struct { REAL lane[SJ_VBYTES / sizeof(REAL)]; } FN(vec);
SJ_INLINE FN(vec) FN(vsplat)(REAL x)
{
    FN(vec) v;
    for (int l = 0; l < SJ_VL; ++l) v.lane[l] = x;
    return v;
}
SJ_INLINE FN(vec) FN(vload)(const REAL *p)
{
    FN(vec) v;
    memcpy(&v, p, sizeof v);
    return v;
}
SJ_INLINE void FN(vfma)(FN(vec) *acc, FN(vec) a, FN(vec) b)
{
    for (int l = 0; l < SJ_VL; ++l) acc->lane[l] += a.lane[l] * b.lane[l];
}
SJ_INLINE void FN(vfma_s)(FN(vec) *acc, REAL w, FN(vec) b)
{
    for (int l = 0; l < SJ_VL; ++l) acc->lane[l] += w * b.lane[l];
}
SJ_INLINE void FN(vmul)(FN(vec) *acc, FN(vec) a)
{
    for (int l = 0; l < SJ_VL; ++l) acc->lane[l] *= a.lane[l];
}
SJ_INLINE void FN(vadd)(FN(vec) *acc, FN(vec) a)
{
    for (int l = 0; l < SJ_VL; ++l) acc->lane[l] += a.lane[l];
}
#define SJ_VZERO() FN(vsplat)((REAL)0)
#define SJ_VSPLAT(x) FN(vsplat)(x)
#define SJ_VLOAD(p) FN(vload)(p)
#define SJ_VSTORE(p, v) memcpy((p), &(v), sizeof(FN(vec)))
#define SJ_VFMA(acc, a, b) FN(vfma)(&(acc), (a), (b))
#define SJ_VFMA_S(acc, w, b) FN(vfma_s)(&(acc), (w), (b))
#define SJ_VMUL(acc, a) FN(vmul)(&(acc), (a))
#define SJ_VADD(acc, a) FN(vadd)(&(acc), (a))
#endif

#include "sj_activations.h"

/* Rows of the next weight chunk: full tiles first, then 4, 2, 1 (one kernel instance per size). */
SJ_INLINE int FN(chunk_rows)(int remaining)
{
    return remaining >= SJ_TR ? SJ_TR : remaining >= 4 ? 4 : remaining >= 2 ? 2 : 1;
}

/* dst[r, c] = sum_i wp[i * R + r] * src[i, c] (+ b[r] for c < bias_cols), r < R, c < n_cols, then times
 * scale[r * SJ_BLOCK + c % SJ_BLOCK] if scale is given (the reverse sweep's f'(z) of the layer below).
 * src rows are src_stride apart, dst rows dst_stride apart.  R and NV (vectors per row of the tile) are
 * constants once inlined: the loops over them unroll and acc stays in registers. */
SJ_INLINE void FN(dense_rows)(const int R, const int NV, int in, int n_cols, int bias_cols,
                              const REAL *restrict wp, const REAL *restrict b, const REAL *restrict scale,
                              const REAL *restrict src, size_t src_stride, REAL *restrict dst, size_t dst_stride)
{
    for (int c0 = 0; c0 < n_cols; c0 += NV * SJ_VL) {
        FN(vec) acc[SJ_ACC];
        for (int r = 0; r < R; ++r) {
            const REAL bias = c0 < bias_cols ? b[r] : (REAL)0;
            for (int v = 0; v < NV; ++v) acc[r * NV + v] = SJ_VSPLAT(bias);
        }
        for (int i = 0; i < in; ++i) {
            const REAL *s = src + (size_t)i * src_stride + c0;
            FN(vec) sv[SJ_BLOCK / SJ_VL];
            for (int v = 0; v < NV; ++v) sv[v] = SJ_VLOAD(s + v * SJ_VL);
            const REAL *restrict w = wp + (size_t)i * R;
            for (int r = 0; r < R; ++r)
                for (int v = 0; v < NV; ++v) SJ_VFMA_S(acc[r * NV + v], w[r], sv[v]);
        }
        for (int r = 0; r < R; ++r) {
            REAL *d = dst + (size_t)r * dst_stride + c0;
            for (int v = 0; v < NV; ++v) {
                FN(vec) value = acc[r * NV + v];
                if (scale) SJ_VMUL(value, SJ_VLOAD(scale + (size_t)r * SJ_BLOCK + c0 % SJ_BLOCK + v * SJ_VL));
                SJ_VSTORE(d + v * SJ_VL, value);
            }
        }
    }
}

/* Vectors per tile row for a chunk of R rows: as many as fit in the SJ_ACC accumulators, at most a block. */
#define SJ_NV(R) (SJ_ACC / (R) < SJ_BLOCK / SJ_VL ? SJ_ACC / (R) : SJ_BLOCK / SJ_VL)

/* dst (out, dst_stride) = packed W (out x in) times src (in, src_stride) over n_cols columns, plus b on the
 * columns below bias_cols (b is not read when bias_cols is 0), then times the (out, SJ_BLOCK) rows of
 * scale if it is not NULL. */
SJ_INLINE void FN(dense)(int out, int in, int n_cols, int bias_cols, const REAL *restrict wp,
                         const REAL *restrict b, const REAL *restrict scale, const REAL *restrict src,
                         size_t src_stride, REAL *restrict dst, size_t dst_stride)
{
    for (int o = 0; o < out;) {
        const int R = FN(chunk_rows)(out - o);
        const REAL *bo = bias_cols > 0 ? b + o : b;
        const REAL *so = scale ? scale + (size_t)o * SJ_BLOCK : NULL;
        REAL *d = dst + (size_t)o * dst_stride;
        if (R == SJ_TR)
            FN(dense_rows)(SJ_TR, SJ_NV(SJ_TR), in, n_cols, bias_cols, wp, bo, so, src, src_stride, d, dst_stride);
        else if (R == 4)
            FN(dense_rows)(4, SJ_NV(4), in, n_cols, bias_cols, wp, bo, so, src, src_stride, d, dst_stride);
        else if (R == 2)
            FN(dense_rows)(2, SJ_NV(2), in, n_cols, bias_cols, wp, bo, so, src, src_stride, d, dst_stride);
        else
            FN(dense_rows)(1, SJ_NV(1), in, n_cols, bias_cols, wp, bo, so, src, src_stride, d, dst_stride);
        wp += (size_t)R * in;
        o += R;
    }
}

/* Pack a rows x cols matrix M, element (r, c) at M[r * row_step + c * col_step], in the chunk order of
 * dense(): for each chunk of R rows, for each column c, the R elements of that column. */
SJ_INLINE void FN(pack)(int rows, int cols, const REAL *restrict M, size_t row_step, size_t col_step,
                        REAL *restrict dst)
{
    for (int o = 0; o < rows;) {
        const int R = FN(chunk_rows)(rows - o);
        for (int c = 0; c < cols; ++c)
            for (int r = 0; r < R; ++r)
                *dst++ = M[(size_t)(o + r) * row_step + (size_t)c * col_step];
        o += R;
    }
}

/* One particle's weights in kernel order: wf[l] = W_l packed for the forward sweep, wt[l] = W_l^T packed
 * for the reverse sweep (only when asked), b[l] = the bias inside theta. */
typedef struct {
    const REAL *wf[SJ_MAX_LAYERS];
    const REAL *wt[SJ_MAX_LAYERS];
    const REAL *b[SJ_MAX_LAYERS];
} FN(weights);

SJ_INLINE void FN(pack_particle)(const sj_net *net, const REAL *restrict theta, int transposed,
                                 REAL *restrict packed, FN(weights) *restrict w)
{
    const REAL *W = theta;
    for (int l = 0; l < net->n_layers; ++l) {
        const int in = net->sizes[l], out = net->sizes[l + 1];
        const size_t n_w = (size_t)out * in;
        FN(pack)(out, in, W, (size_t)in, 1, packed);
        w->wf[l] = packed;
        packed += n_w;
        if (transposed) {
            FN(pack)(in, out, W, 1, (size_t)in, packed);
            w->wt[l] = packed;
            packed += n_w;
        }
        w->b[l] = W + n_w;
        W += n_w + out;
    }
}

/* First layer: the value columns are W x + b over the input block x (d_in, SJ_BLOCK); the tangent of input
 * direction j is the unit vector e_j, so its pre-activation tangent is the column W[:, j], the same for
 * every sample: no product needed. */
SJ_INLINE void FN(dense_input)(int out, int in, int n_dir, const int32_t *restrict dirs, const REAL *restrict wp,
                               const REAL *restrict W, const REAL *restrict b, const REAL *restrict x,
                               REAL *restrict dst)
{
    const size_t n_cols = (size_t)(1 + n_dir) * SJ_BLOCK;
    FN(dense)(out, in, SJ_BLOCK, SJ_BLOCK, wp, b, NULL, x, SJ_BLOCK, dst, n_cols);
    for (int o = 0; o < out; ++o)
        for (int t = 0; t < n_dir; ++t) {
            const REAL wj = W[(size_t)o * in + dirs[t]];
            REAL *restrict tan_row = dst + (size_t)o * n_cols + (size_t)(1 + t) * SJ_BLOCK;
            for (int s = 0; s < SJ_BLOCK; ++s) tan_row[s] = wj;
        }
}

/* Apply the activation to the value columns of each unit and scale its tangent columns by f'(z).
 * When dsave is given, f'(z) is also stored there, (out, SJ_BLOCK), for a reverse sweep; not for a linear
 * layer, whose f' = 1 the reverse sweep does not read. */
SJ_INLINE void FN(activate)(int code, int out, int n_dir, REAL *restrict buf, REAL *restrict dsave)
{
    const size_t n_cols = (size_t)(1 + n_dir) * SJ_BLOCK;
    if (code == SJ_LINEAR) return;
    for (int o = 0; o < out; ++o) {
        REAL *restrict row = buf + (size_t)o * n_cols;
        SJ_ALIGN64 REAL local_d[SJ_BLOCK];
        REAL *restrict d = dsave ? dsave + (size_t)o * SJ_BLOCK : local_d;
        FN(activation_block)(code, row, row, d, SJ_BLOCK);
        for (int t = 0; t < n_dir; ++t) {
            REAL *restrict tan_row = row + (size_t)(1 + t) * SJ_BLOCK;
            for (int s = 0; s < SJ_BLOCK; ++s) tan_row[s] *= d[s];
        }
    }
}

/* Forward sweep of one sample block through every layer.  Returns the buffer that holds the output,
 * (d_out, (1 + n_dir) * SJ_BLOCK).  dsave, if not NULL, receives f'(z) of every layer, layer after layer. */
SJ_INLINE REAL *FN(forward_block)(const sj_net *net, const REAL *restrict theta, const FN(weights) *w,
                                  const REAL *restrict x, const int32_t *restrict dirs, int n_dir,
                                  REAL *restrict buf0, REAL *restrict buf1, REAL *restrict dsave)
{
    const int n_cols = (1 + n_dir) * SJ_BLOCK;
    REAL *dst = buf0;
    FN(dense_input)(net->sizes[1], net->sizes[0], n_dir, dirs, w->wf[0], theta, w->b[0], x, dst);
    FN(activate)(net->activations[0], net->sizes[1], n_dir, dst, dsave);
    for (int l = 1; l < net->n_layers; ++l) {
        const int in = net->sizes[l], out = net->sizes[l + 1];
        if (dsave) dsave += (size_t)in * SJ_BLOCK;
        REAL *src = dst;
        dst = (dst == buf0) ? buf1 : buf0;
        FN(dense)(out, in, n_cols, SJ_BLOCK, w->wf[l], w->b[l], NULL, src, (size_t)n_cols, dst, (size_t)n_cols);
        FN(activate)(net->activations[l], out, n_dir, dst, dsave);
    }
    return dst;
}

/* Reverse sweep: after forward_block(..., n_dir = 0, dsave), propagate one adjoint lane block per output
 * back to the inputs.  Result (d_in, d_out * SJ_BLOCK): entry [j, k * SJ_BLOCK + s] = dY_k/dX_j at sample s.
 * The adjoints of output k are seeded with f'_L(z_k) (the output layer's own derivative). */
SJ_INLINE REAL *FN(reverse_block)(const sj_net *net, const FN(weights) *w, const REAL *restrict dsave,
                                  REAL *restrict buf0, REAL *restrict buf1)
{
    const int L = net->n_layers;
    const int d_out = net->sizes[L];
    const size_t n_cols = (size_t)d_out * SJ_BLOCK;
    /* f'(z) rows of layer l start at dsave + (sizes[1] + ... + sizes[l]) * SJ_BLOCK. */
    size_t d_pos = 0;
    for (int l = 1; l < L; ++l) d_pos += (size_t)net->sizes[l] * SJ_BLOCK;
    /* Seed: adjoint of z_L for output k is e_k * f'_L(z_k) (e_k for a linear output layer). */
    REAL *g = buf0;
    const int linear_out = net->activations[L - 1] == SJ_LINEAR;
    const REAL *dL = dsave + d_pos;
    for (int o = 0; o < d_out; ++o)
        for (int k = 0; k < d_out; ++k)
            for (int s = 0; s < SJ_BLOCK; ++s)
                g[(size_t)o * n_cols + (size_t)k * SJ_BLOCK + s] =
                    o != k ? (REAL)0 : linear_out ? (REAL)1 : dL[(size_t)o * SJ_BLOCK + s];
    for (int l = L - 1; l >= 0; --l) {
        const int out = net->sizes[l + 1], in = net->sizes[l];
        /* Back through W_l, then (l > 0) through the activation of layer l - 1: every adjoint column of
         * unit i times f'(z_i), applied as the product's epilogue (none for a linear layer). */
        const REAL *scale = NULL;
        if (l > 0) {
            d_pos -= (size_t)in * SJ_BLOCK;
            if (net->activations[l - 1] != SJ_LINEAR) scale = dsave + d_pos;
        }
        REAL *dst = (g == buf0) ? buf1 : buf0;
        FN(dense)(in, out, (int)n_cols, 0, w->wt[l], w->b[l], scale, g, n_cols, dst, n_cols);
        g = dst;
    }
    return g;
}

/* ----- per-particle work: what the entry points run for each particle ----- */

static void FN(particle_predict)(const sj_net *net, const REAL *theta, const REAL *X, int64_t n_samples,
                                 REAL *Y, sj_scratch *sc)
{
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    const int64_t n_blocks = (n_samples + SJ_BLOCK - 1) / SJ_BLOCK;
    REAL *buf0 = sc->buf0, *buf1 = sc->buf1;
    FN(weights) w;
    FN(pack_particle)(net, theta, 0, sc->packed, &w);
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        const REAL *out = FN(forward_block)(net, theta, &w, X + (size_t)blk * d_in * SJ_BLOCK, NULL, 0,
                                            buf0, buf1, NULL);
        const int64_t n0 = blk * SJ_BLOCK;
        const int n_valid = (int)((n_samples - n0) < SJ_BLOCK ? (n_samples - n0) : SJ_BLOCK);
        for (int s = 0; s < n_valid; ++s)
            for (int k = 0; k < d_out; ++k)
                Y[(size_t)(n0 + s) * d_out + k] = out[(size_t)k * SJ_BLOCK + s];
    }
}

static void FN(particle_value_and_jacobian)(const sj_net *net, const REAL *theta, const REAL *X,
                                            int64_t n_samples, REAL *Y, REAL *J, int mode,
                                            const int32_t *all_dirs, sj_scratch *sc)
{
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    const int64_t n_blocks = (n_samples + SJ_BLOCK - 1) / SJ_BLOCK;
    REAL *buf0 = sc->buf0, *buf1 = sc->buf1, *dsave = sc->dsave;
    FN(weights) w;
    FN(pack_particle)(net, theta, mode == SJ_MODE_REVERSE, sc->packed, &w);
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        const REAL *x = X + (size_t)blk * d_in * SJ_BLOCK;
        const int64_t n0 = blk * SJ_BLOCK;
        const int n_valid = (int)((n_samples - n0) < SJ_BLOCK ? (n_samples - n0) : SJ_BLOCK);
        if (mode == SJ_MODE_REVERSE) {
            const REAL *out = FN(forward_block)(net, theta, &w, x, NULL, 0, buf0, buf1, dsave);
            for (int s = 0; s < n_valid; ++s)
                for (int k = 0; k < d_out; ++k)
                    Y[(size_t)(n0 + s) * d_out + k] = out[(size_t)k * SJ_BLOCK + s];
            /* out lives in buf0 or buf1; the reverse sweep may overwrite both, so values were copied first. */
            const REAL *adj = FN(reverse_block)(net, &w, dsave, buf0, buf1);
            const size_t n_cols = (size_t)d_out * SJ_BLOCK;
            for (int s = 0; s < n_valid; ++s)
                for (int k = 0; k < d_out; ++k)
                    for (int j = 0; j < d_in; ++j)
                        J[((size_t)(n0 + s) * d_out + k) * d_in + j] = adj[(size_t)j * n_cols + (size_t)k * SJ_BLOCK + s];
        } else {
            const REAL *out = FN(forward_block)(net, theta, &w, x, all_dirs, d_in, buf0, buf1, NULL);
            const size_t n_cols = (size_t)(1 + d_in) * SJ_BLOCK;
            for (int s = 0; s < n_valid; ++s)
                for (int k = 0; k < d_out; ++k) {
                    const REAL *row = out + (size_t)k * n_cols;
                    Y[(size_t)(n0 + s) * d_out + k] = row[s];
                    for (int j = 0; j < d_in; ++j)
                        J[((size_t)(n0 + s) * d_out + k) * d_in + j] = row[(size_t)(1 + j) * SJ_BLOCK + s];
                }
        }
    }
}

/* Squared errors of one block, times their mask weights, added into per-lane double accumulators (fixed order: deterministic). */
SJ_INLINE void FN(accumulate_sq_err)(const REAL *restrict pred, const REAL *restrict target,
                                     const REAL *restrict mask, double *restrict acc)
{
    for (int s = 0; s < SJ_BLOCK; ++s) {
        const double diff = (double)pred[s] - (double)target[s];
        /* The select keeps a non-finite prediction in a lane that is not observed out of the sum. */
        acc[s] += mask[s] != 0 ? (double)mask[s] * (diff * diff) : 0.0;
    }
}

/* Whether some parameter is NaN or +-inf (all exponent bits set): integer operations, so the loop
 * vectorises without reassociating floating-point sums. */
SJ_INLINE int FN(has_nonfinite)(const REAL *restrict theta, int64_t n)
{
    REAL_BITS bad = 0;
    for (int64_t i = 0; i < n; ++i) {
        REAL_BITS bits;
        memcpy(&bits, theta + i, sizeof bits);
        bad |= (REAL_BITS)((bits & REAL_EXP_MASK) == REAL_EXP_MASK);
    }
    return bad != 0;
}

/* One block of the observations (pointers into sj_data at block blk). */
typedef struct {
    int n_dir;
    const int32_t *dirs;
    const REAL *x, *y, *y_mask, *dydx, *dydx_mask;
} FN(block_obs);

SJ_INLINE FN(block_obs) FN(block_at)(const sj_net *net, const sj_data *data, int64_t blk)
{
    const size_t d_in = (size_t)net->sizes[0], d_out = (size_t)net->sizes[net->n_layers];
    const size_t b = (size_t)blk;
    FN(block_obs) o;
    o.n_dir = data->block_n_dirs[blk];
    o.dirs = data->block_dirs + b * d_in;
    o.x = (const REAL *)data->X + b * d_in * SJ_BLOCK;
    o.y = (const REAL *)data->y + b * d_out * SJ_BLOCK;
    o.y_mask = (const REAL *)data->y_mask + b * d_out * SJ_BLOCK;
    o.dydx = (const REAL *)data->dydx + b * d_in * d_out * SJ_BLOCK;
    o.dydx_mask = (const REAL *)data->dydx_mask + b * d_in * d_out * SJ_BLOCK;
    return o;
}

/* The fitness from the per-lane sums of squared errors: a pairwise fold of the lanes (a fixed order, so
 * deterministic, with a short dependency chain), the two scales, +inf if not finite. */
SJ_INLINE REAL FN(fold_fitness)(const sj_data *data, double *restrict acc_value, double *restrict acc_deriv)
{
    for (int half = SJ_BLOCK / 2; half > 0; half /= 2)
        for (int s = 0; s < half; ++s) {
            acc_value[s] += acc_value[s + half];
            acc_deriv[s] += acc_deriv[s + half];
        }
    double f = 0.0;
    if (data->value_scale != 0.0) f += data->value_scale * acc_value[0];
    if (data->derivative_scale != 0.0) f += data->derivative_scale * acc_deriv[0];
    const REAL fr = (REAL)f;
    return isfinite(fr) ? fr : (REAL)INFINITY;
}

/* any_reverse: some block of the data goes reverse (sj_block_reverse), so W^T is packed too. */
static REAL FN(particle_fitness)(const sj_net *net, const REAL *theta, const sj_data *data, int mode,
                                 int any_reverse, sj_scratch *sc)
{
    /* A particle with a NaN or inf parameter scores +inf without being evaluated: relu maps a NaN
     * pre-activation to 0, so such a particle could otherwise reach a finite fitness. */
    if (FN(has_nonfinite)(theta, net->n_params)) return (REAL)INFINITY;
    const int d_out = net->sizes[net->n_layers];
    REAL *buf0 = sc->buf0, *buf1 = sc->buf1, *dsave = sc->dsave;
    SJ_ALIGN64 double acc_value[SJ_BLOCK];
    SJ_ALIGN64 double acc_deriv[SJ_BLOCK];
    for (int s = 0; s < SJ_BLOCK; ++s) acc_value[s] = acc_deriv[s] = 0.0;
    FN(weights) w;
    FN(pack_particle)(net, theta, any_reverse, sc->packed, &w);
    for (int64_t blk = 0; blk < data->n_blocks; ++blk) {
        const FN(block_obs) ob = FN(block_at)(net, data, blk);
        const int n_dir = ob.n_dir;
        const int32_t *dirs = ob.dirs;
        const REAL *x = ob.x, *y = ob.y, *y_mask = ob.y_mask, *dydx = ob.dydx, *dydx_mask = ob.dydx_mask;
        const int reverse = sj_block_reverse(mode, d_out, n_dir);
        const int carried = reverse ? 0 : n_dir;
        const REAL *out = FN(forward_block)(net, theta, &w, x, dirs, carried, buf0, buf1, reverse ? dsave : NULL);
        const size_t n_cols = (size_t)(1 + carried) * SJ_BLOCK;
        for (int k = 0; k < d_out; ++k)
            FN(accumulate_sq_err)(out + (size_t)k * n_cols, y + (size_t)k * SJ_BLOCK,
                                  y_mask + (size_t)k * SJ_BLOCK, acc_value);
        if (n_dir == 0) continue;
        if (reverse) {
            const REAL *adj = FN(reverse_block)(net, &w, dsave, buf0, buf1);
            const size_t adj_cols = (size_t)d_out * SJ_BLOCK;
            for (int t = 0; t < n_dir; ++t) {
                const int j = dirs[t];
                for (int k = 0; k < d_out; ++k) {
                    const size_t target = ((size_t)j * d_out + k) * SJ_BLOCK;
                    FN(accumulate_sq_err)(adj + (size_t)j * adj_cols + (size_t)k * SJ_BLOCK,
                                          dydx + target, dydx_mask + target, acc_deriv);
                }
            }
        } else {
            for (int t = 0; t < n_dir; ++t) {
                const int j = dirs[t];
                for (int k = 0; k < d_out; ++k) {
                    const size_t target = ((size_t)j * d_out + k) * SJ_BLOCK;
                    FN(accumulate_sq_err)(out + (size_t)k * n_cols + (size_t)(1 + t) * SJ_BLOCK,
                                          dydx + target, dydx_mask + target, acc_deriv);
                }
            }
        }
    }
    return FN(fold_fitness)(data, acc_value, acc_deriv);
}

#include "sj_gradient_impl.h"

#undef FN
#undef SJ_GELU_K0
#undef SJ_GELU_K1
#undef SJ_LEAKY_SLOPE
#undef SJ_CAT3
#undef SJ_CAT3_
#undef SJ_VBYTES
#undef SJ_TR
#undef SJ_VL
#undef SJ_ACC
#undef SJ_NV
#undef SJ_VZERO
#undef SJ_VSPLAT
#undef SJ_VLOAD
#undef SJ_VSTORE
#undef SJ_VFMA
#undef SJ_VFMA_S
#undef SJ_VMUL
#undef SJ_VADD
