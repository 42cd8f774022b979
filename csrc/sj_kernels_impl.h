/* swarmjac kernels, templated on the element type: included by sj_kernels.c once per REAL/SUF.
 *
 * One layer loop serves every entry point.  A block of SJ_BLOCK samples lives in a buffer laid out
 * (width, n_cols) with n_cols = (1 + n_dir) * SJ_BLOCK: for each unit, the value lane block first, then
 * one lane block per carried tangent direction.  A dense layer is then one small matrix product over all
 * those columns (bias only on the value columns), and the activation scales the tangent columns by f'(z):
 *     z = W a + b,   dz = W da,   a' = f(z),   da' = f'(z) * dz            (forward mode)
 * Reverse mode runs the value-only sweep, keeps f'(z) per layer, and sweeps back once per output
 * with the same dense kernel on W transposed.
 * The consumers (predict, value_and_jacobian, fitness) only differ in what they do with the last buffer. */

#define SJ_CAT2(a, b) a##_##b
#define SJ_CAT(a, b) SJ_CAT2(a, b)
#define FN(name) SJ_CAT(sj_##name, SUF)
#define DATA SJ_CAT(sj_data, SUF)

#include "sj_activations.h"

/* dst[o, c] = sum_i W[o, i] * src[i, c] (+ b[o] on the value columns c < SJ_BLOCK).
 * src is (in, n_cols), dst is (out, n_cols); n_cols is a multiple of SJ_TILE_COLS. */
SJ_INLINE void FN(dense)(int out, int in, int n_cols, const REAL *restrict W, const REAL *restrict b,
                         const REAL *restrict src, REAL *restrict dst)
{
    int o = 0;
    for (; o + SJ_TILE_ROWS <= out; o += SJ_TILE_ROWS) {
        const REAL *w0 = W + (size_t)o * in;
        const REAL *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
        for (int c0 = 0; c0 < n_cols; c0 += SJ_TILE_COLS) {
            const int with_bias = c0 < SJ_BLOCK;
            REAL acc0[SJ_TILE_COLS], acc1[SJ_TILE_COLS], acc2[SJ_TILE_COLS], acc3[SJ_TILE_COLS];
            const REAL b0 = with_bias ? b[o] : 0, b1 = with_bias ? b[o + 1] : 0;
            const REAL b2 = with_bias ? b[o + 2] : 0, b3 = with_bias ? b[o + 3] : 0;
            for (int k = 0; k < SJ_TILE_COLS; ++k) {
                acc0[k] = b0; acc1[k] = b1; acc2[k] = b2; acc3[k] = b3;
            }
            for (int i = 0; i < in; ++i) {
                const REAL *restrict s = src + (size_t)i * n_cols + c0;
                const REAL x0 = w0[i], x1 = w1[i], x2 = w2[i], x3 = w3[i];
                for (int k = 0; k < SJ_TILE_COLS; ++k) {
                    acc0[k] += x0 * s[k];
                    acc1[k] += x1 * s[k];
                    acc2[k] += x2 * s[k];
                    acc3[k] += x3 * s[k];
                }
            }
            REAL *restrict d0 = dst + (size_t)o * n_cols + c0;
            for (int k = 0; k < SJ_TILE_COLS; ++k) {
                d0[k] = acc0[k];
                d0[n_cols + k] = acc1[k];
                d0[2 * (size_t)n_cols + k] = acc2[k];
                d0[3 * (size_t)n_cols + k] = acc3[k];
            }
        }
    }
    for (; o < out; ++o) {
        const REAL *w0 = W + (size_t)o * in;
        for (int c0 = 0; c0 < n_cols; c0 += SJ_TILE_COLS) {
            REAL acc0[SJ_TILE_COLS];
            const REAL b0 = c0 < SJ_BLOCK ? b[o] : 0;
            for (int k = 0; k < SJ_TILE_COLS; ++k) acc0[k] = b0;
            for (int i = 0; i < in; ++i) {
                const REAL *restrict s = src + (size_t)i * n_cols + c0;
                const REAL x0 = w0[i];
                for (int k = 0; k < SJ_TILE_COLS; ++k) acc0[k] += x0 * s[k];
            }
            REAL *restrict d0 = dst + (size_t)o * n_cols + c0;
            for (int k = 0; k < SJ_TILE_COLS; ++k) d0[k] = acc0[k];
        }
    }
}

/* First layer: the value columns come from the input block x (d_in, SJ_BLOCK); the tangent of input
 * direction j is the unit vector e_j, so its pre-activation tangent is the column W[:, j], the same for
 * every sample: no product needed. */
SJ_INLINE void FN(dense_input)(int out, int in, int n_dir, const int32_t *restrict dirs,
                               const REAL *restrict W, const REAL *restrict b,
                               const REAL *restrict x, REAL *restrict dst)
{
    const int n_cols = (1 + n_dir) * SJ_BLOCK;
    for (int o = 0; o < out; ++o) {
        const REAL *restrict w = W + (size_t)o * in;
        REAL acc[SJ_BLOCK];
        for (int s = 0; s < SJ_BLOCK; ++s) acc[s] = b[o];
        for (int i = 0; i < in; ++i) {
            const REAL *restrict xi = x + (size_t)i * SJ_BLOCK;
            const REAL wi = w[i];
            for (int s = 0; s < SJ_BLOCK; ++s) acc[s] += wi * xi[s];
        }
        REAL *restrict row = dst + (size_t)o * n_cols;
        for (int s = 0; s < SJ_BLOCK; ++s) row[s] = acc[s];
        for (int t = 0; t < n_dir; ++t) {
            const REAL wj = w[dirs[t]];
            REAL *restrict tan_row = row + (size_t)(1 + t) * SJ_BLOCK;
            for (int s = 0; s < SJ_BLOCK; ++s) tan_row[s] = wj;
        }
    }
}

/* Apply the activation to the value columns of each unit and scale its tangent columns by f'(z).
 * When dsave is given, f'(z) is also stored there, (out, SJ_BLOCK), for a reverse sweep. */
SJ_INLINE void FN(activate)(int code, int out, int n_dir, REAL *restrict buf, REAL *restrict dsave)
{
    const int n_cols = (1 + n_dir) * SJ_BLOCK;
    if (code == SJ_LINEAR) {
        if (dsave)
            for (size_t e = 0; e < (size_t)out * SJ_BLOCK; ++e) dsave[e] = 1;
        return;
    }
    for (int o = 0; o < out; ++o) {
        REAL *restrict row = buf + (size_t)o * n_cols;
        REAL local_d[SJ_BLOCK];
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
SJ_INLINE REAL *FN(forward_block)(const sj_net *net, const REAL *restrict theta, const REAL *restrict x,
                                  const int32_t *restrict dirs, int n_dir,
                                  REAL *restrict buf0, REAL *restrict buf1, REAL *restrict dsave)
{
    const int n_cols = (1 + n_dir) * SJ_BLOCK;
    int in = net->sizes[0], out = net->sizes[1];
    const REAL *W = theta;
    const REAL *b = W + (size_t)out * in;
    REAL *dst = buf0;
    FN(dense_input)(out, in, n_dir, dirs, W, b, x, dst);
    FN(activate)(net->activations[0], out, n_dir, dst, dsave);
    for (int l = 1; l < net->n_layers; ++l) {
        if (dsave) dsave += (size_t)out * SJ_BLOCK;
        W = b + out;
        in = out;
        out = net->sizes[l + 1];
        b = W + (size_t)out * in;
        REAL *src = dst;
        dst = (dst == buf0) ? buf1 : buf0;
        FN(dense)(out, in, n_cols, W, b, src, dst);
        FN(activate)(net->activations[l], out, n_dir, dst, dsave);
    }
    return dst;
}

/* dst[i, c] = sum_o W[o, i] * src[o, c]: the transposed product of the reverse sweep (no bias).
 * src is (out, n_cols), dst is (in, n_cols).  Tiled like dense(): SJ_TILE_ROWS inputs at once, so that
 * the accumulators form independent FMA chains and each weight row segment W[o, i:i+4] is contiguous. */
SJ_INLINE void FN(dense_transposed)(int out, int in, int n_cols, const REAL *restrict W,
                                    const REAL *restrict src, REAL *restrict dst)
{
    int i = 0;
    for (; i + SJ_TILE_ROWS <= in; i += SJ_TILE_ROWS) {
        for (int c0 = 0; c0 < n_cols; c0 += SJ_TILE_COLS) {
            REAL acc0[SJ_TILE_COLS], acc1[SJ_TILE_COLS], acc2[SJ_TILE_COLS], acc3[SJ_TILE_COLS];
            for (int k = 0; k < SJ_TILE_COLS; ++k) acc0[k] = acc1[k] = acc2[k] = acc3[k] = 0;
            for (int o = 0; o < out; ++o) {
                const REAL *restrict w = W + (size_t)o * in + i;
                const REAL x0 = w[0], x1 = w[1], x2 = w[2], x3 = w[3];
                const REAL *restrict s = src + (size_t)o * n_cols + c0;
                for (int k = 0; k < SJ_TILE_COLS; ++k) {
                    acc0[k] += x0 * s[k];
                    acc1[k] += x1 * s[k];
                    acc2[k] += x2 * s[k];
                    acc3[k] += x3 * s[k];
                }
            }
            REAL *restrict d = dst + (size_t)i * n_cols + c0;
            for (int k = 0; k < SJ_TILE_COLS; ++k) {
                d[k] = acc0[k];
                d[n_cols + k] = acc1[k];
                d[2 * (size_t)n_cols + k] = acc2[k];
                d[3 * (size_t)n_cols + k] = acc3[k];
            }
        }
    }
    for (; i < in; ++i) {
        for (int c0 = 0; c0 < n_cols; c0 += SJ_TILE_COLS) {
            REAL acc[SJ_TILE_COLS];
            for (int k = 0; k < SJ_TILE_COLS; ++k) acc[k] = 0;
            for (int o = 0; o < out; ++o) {
                const REAL w = W[(size_t)o * in + i];
                const REAL *restrict s = src + (size_t)o * n_cols + c0;
                for (int k = 0; k < SJ_TILE_COLS; ++k) acc[k] += w * s[k];
            }
            REAL *restrict d = dst + (size_t)i * n_cols + c0;
            for (int k = 0; k < SJ_TILE_COLS; ++k) d[k] = acc[k];
        }
    }
}

/* Reverse sweep: after forward_block(..., n_dir = 0, dsave), propagate one adjoint lane block per output
 * back to the inputs.  Result (d_in, d_out * SJ_BLOCK): entry [j, k * SJ_BLOCK + s] = dY_k/dX_j at sample s.
 * The adjoints of output k are seeded with f'_L(z_k) (the output layer's own derivative). */
SJ_INLINE REAL *FN(reverse_block)(const sj_net *net, const REAL *restrict theta, const REAL *restrict dsave,
                                  REAL *restrict buf0, REAL *restrict buf1)
{
    const int L = net->n_layers;
    const int d_out = net->sizes[L];
    const int n_cols = d_out * SJ_BLOCK;
    /* Offsets of each layer's W and of its f'(z) rows (check_net bounds L by SJ_MAX_LAYERS). */
    size_t w_offset[SJ_MAX_LAYERS] = {0}, d_offset[SJ_MAX_LAYERS] = {0};
    size_t wpos = 0, dpos = 0;
    for (int l = 0; l < L; ++l) {
        w_offset[l] = wpos;
        d_offset[l] = dpos;
        wpos += (size_t)net->sizes[l + 1] * net->sizes[l] + net->sizes[l + 1];
        dpos += (size_t)net->sizes[l + 1] * SJ_BLOCK;
    }
    /* Seed: adjoint of z_L for output k is e_k * f'_L(z_k). */
    REAL *g = buf0;
    const REAL *dL = dsave + d_offset[L - 1];
    for (int o = 0; o < d_out; ++o)
        for (int k = 0; k < d_out; ++k)
            for (int s = 0; s < SJ_BLOCK; ++s)
                g[(size_t)o * n_cols + (size_t)k * SJ_BLOCK + s] = (o == k) ? dL[(size_t)o * SJ_BLOCK + s] : 0;
    for (int l = L - 1; l >= 0; --l) {
        const int out = net->sizes[l + 1], in = net->sizes[l];
        REAL *dst = (g == buf0) ? buf1 : buf0;
        FN(dense_transposed)(out, in, n_cols, theta + w_offset[l], g, dst);
        g = dst;
        if (l > 0) {
            /* Through the activation of the layer below: scale every adjoint column by its f'(z). */
            const REAL *dl = dsave + d_offset[l - 1];
            for (int i = 0; i < in; ++i)
                for (int k = 0; k < d_out; ++k) {
                    REAL *restrict row = g + (size_t)i * n_cols + (size_t)k * SJ_BLOCK;
                    const REAL *restrict di = dl + (size_t)i * SJ_BLOCK;
                    for (int s = 0; s < SJ_BLOCK; ++s) row[s] *= di[s];
                }
        }
    }
    return g;
}

/* ----- per-thread scratch ----- */

typedef struct {
    REAL *buf0, *buf1, *dsave;
} FN(scratch);

static int FN(max_width)(const sj_net *net)
{
    int w = 0;
    for (int l = 0; l <= net->n_layers; ++l)
        if (net->sizes[l] > w) w = net->sizes[l];
    return w;
}

/* Buffers for up to max_cols lane blocks per unit; dsave only when a reverse sweep is possible. */
static int FN(scratch_alloc)(FN(scratch) *sc, const sj_net *net, int max_cols, int with_dsave)
{
    const size_t width = (size_t)FN(max_width)(net);
    size_t total_units = 0;
    for (int l = 1; l <= net->n_layers; ++l) total_units += (size_t)net->sizes[l];
    sc->buf0 = sc->buf1 = sc->dsave = NULL;
    /* Refuse sizes whose byte count would overflow instead of allocating a wrapped-around size. */
    const size_t lane_bytes = (size_t)SJ_BLOCK * sizeof(REAL);
    if (max_cols < 1 || width > SIZE_MAX / lane_bytes / (size_t)max_cols || total_units > SIZE_MAX / lane_bytes)
        return SJ_ENOMEM;
    sc->buf0 = sj_aligned_alloc(width * max_cols * SJ_BLOCK * sizeof(REAL));
    sc->buf1 = sj_aligned_alloc(width * max_cols * SJ_BLOCK * sizeof(REAL));
    sc->dsave = with_dsave ? sj_aligned_alloc(total_units * SJ_BLOCK * sizeof(REAL)) : NULL;
    if (!sc->buf0 || !sc->buf1 || (with_dsave && !sc->dsave)) {
        free(sc->buf0); free(sc->buf1); free(sc->dsave);
        sc->buf0 = sc->buf1 = sc->dsave = NULL;
        return SJ_ENOMEM;
    }
    return SJ_OK;
}

static void FN(scratch_free)(FN(scratch) *sc)
{
    free(sc->buf0); free(sc->buf1); free(sc->dsave);
}

static int FN(check_net)(const sj_net *net)
{
    if (!net || net->n_layers < 1 || net->n_layers > SJ_MAX_LAYERS || !net->sizes || !net->activations)
        return SJ_EINVAL;
    int64_t n_params = 0;
    for (int l = 0; l < net->n_layers; ++l) {
        if (net->sizes[l] < 1 || net->sizes[l + 1] < 1) return SJ_EINVAL;
        if (net->activations[l] < 0 || net->activations[l] >= SJ_N_ACTIVATIONS) return SJ_EINVAL;
        n_params += (int64_t)net->sizes[l + 1] * net->sizes[l] + net->sizes[l + 1];
    }
    return n_params == net->n_params ? SJ_OK : SJ_EINVAL;
}

/* ----- per-particle work (cloned per ISA level) ----- */

SJ_CLONES
static void FN(particle_predict)(const sj_net *net, const REAL *theta, const REAL *X, int64_t n_samples,
                                 REAL *Y, FN(scratch) *sc)
{
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    const int64_t n_blocks = (n_samples + SJ_BLOCK - 1) / SJ_BLOCK;
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        const REAL *out = FN(forward_block)(net, theta, X + (size_t)blk * d_in * SJ_BLOCK, NULL, 0,
                                            sc->buf0, sc->buf1, NULL);
        const int64_t n0 = blk * SJ_BLOCK;
        const int n_valid = (int)((n_samples - n0) < SJ_BLOCK ? (n_samples - n0) : SJ_BLOCK);
        for (int s = 0; s < n_valid; ++s)
            for (int k = 0; k < d_out; ++k)
                Y[(size_t)(n0 + s) * d_out + k] = out[(size_t)k * SJ_BLOCK + s];
    }
}

SJ_CLONES
static void FN(particle_value_and_jacobian)(const sj_net *net, const REAL *theta, const REAL *X,
                                            int64_t n_samples, REAL *Y, REAL *J, int mode,
                                            const int32_t *all_dirs, FN(scratch) *sc)
{
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    const int64_t n_blocks = (n_samples + SJ_BLOCK - 1) / SJ_BLOCK;
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        const REAL *x = X + (size_t)blk * d_in * SJ_BLOCK;
        const int64_t n0 = blk * SJ_BLOCK;
        const int n_valid = (int)((n_samples - n0) < SJ_BLOCK ? (n_samples - n0) : SJ_BLOCK);
        if (mode == SJ_MODE_REVERSE) {
            const REAL *out = FN(forward_block)(net, theta, x, NULL, 0, sc->buf0, sc->buf1, sc->dsave);
            for (int s = 0; s < n_valid; ++s)
                for (int k = 0; k < d_out; ++k)
                    Y[(size_t)(n0 + s) * d_out + k] = out[(size_t)k * SJ_BLOCK + s];
            /* out lives in buf0 or buf1; the reverse sweep may overwrite both, so values were copied first. */
            const REAL *adj = FN(reverse_block)(net, theta, sc->dsave, sc->buf0, sc->buf1);
            const int n_cols = d_out * SJ_BLOCK;
            for (int s = 0; s < n_valid; ++s)
                for (int k = 0; k < d_out; ++k)
                    for (int j = 0; j < d_in; ++j)
                        J[((size_t)(n0 + s) * d_out + k) * d_in + j] =
                            adj[(size_t)j * n_cols + (size_t)k * SJ_BLOCK + s];
        } else {
            const REAL *out = FN(forward_block)(net, theta, x, all_dirs, d_in, sc->buf0, sc->buf1, NULL);
            const int n_cols = (1 + d_in) * SJ_BLOCK;
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

/* Squared errors of one block added into per-lane double accumulators (fixed order: deterministic). */
SJ_INLINE void FN(accumulate_sq_err)(const REAL *restrict pred, const REAL *restrict target,
                                     const REAL *restrict mask, double *restrict acc)
{
    for (int s = 0; s < SJ_BLOCK; ++s) {
        const double diff = (double)pred[s] - (double)target[s];
        acc[s] += mask[s] != 0 ? diff * diff : 0.0;
    }
}

SJ_CLONES
static REAL FN(particle_fitness)(const sj_net *net, const REAL *theta, const DATA *data, int mode,
                                 FN(scratch) *sc)
{
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    double acc_value[SJ_BLOCK], acc_deriv[SJ_BLOCK];
    for (int s = 0; s < SJ_BLOCK; ++s) acc_value[s] = acc_deriv[s] = 0.0;
    for (int64_t blk = 0; blk < data->n_blocks; ++blk) {
        const int n_dir = data->block_n_dirs[blk];
        const int32_t *dirs = data->block_dirs + (size_t)blk * d_in;
        const REAL *x = data->X + (size_t)blk * d_in * SJ_BLOCK;
        const REAL *y = data->y + (size_t)blk * d_out * SJ_BLOCK;
        const REAL *y_mask = data->y_mask + (size_t)blk * d_out * SJ_BLOCK;
        const REAL *dydx = data->dydx + (size_t)blk * d_in * d_out * SJ_BLOCK;
        const REAL *dydx_mask = data->dydx_mask + (size_t)blk * d_in * d_out * SJ_BLOCK;
        const int reverse = n_dir > 0 && (mode == SJ_MODE_REVERSE || (mode == SJ_MODE_AUTO && d_out < n_dir));
        const int carried = reverse ? 0 : n_dir;
        const REAL *out = FN(forward_block)(net, theta, x, dirs, carried, sc->buf0, sc->buf1,
                                            reverse ? sc->dsave : NULL);
        const int n_cols = (1 + carried) * SJ_BLOCK;
        for (int k = 0; k < d_out; ++k)
            FN(accumulate_sq_err)(out + (size_t)k * n_cols, y + (size_t)k * SJ_BLOCK,
                                  y_mask + (size_t)k * SJ_BLOCK, acc_value);
        if (n_dir == 0) continue;
        if (reverse) {
            const REAL *adj = FN(reverse_block)(net, theta, sc->dsave, sc->buf0, sc->buf1);
            const int adj_cols = d_out * SJ_BLOCK;
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
    double sse_value = 0.0, sse_deriv = 0.0;
    for (int s = 0; s < SJ_BLOCK; ++s) {
        sse_value += acc_value[s];
        sse_deriv += acc_deriv[s];
    }
    double f = 0.0;
    if (data->value_scale != 0.0) f += data->value_scale * sse_value;
    if (data->derivative_scale != 0.0) f += data->derivative_scale * sse_deriv;
    const REAL fr = (REAL)f;
    return isfinite(fr) ? fr : (REAL)INFINITY;
}

/* ----- entry points: OpenMP over particles, static schedule, one scratch per thread ----- */

/* Runs BODY(p, &scratch) for every particle p, with scratch allocated once per thread, and stores
 * SJ_OK or SJ_ENOMEM in status.  Each particle is computed entirely by one thread in a fixed order, so
 * results do not depend on n_threads. */
#ifdef SJ_HAVE_OPENMP
#define SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, with_dsave, BODY)               \
    do {                                                                                            \
        int status_ = SJ_OK;                                                                        \
        const int threads_ = (n_threads) > 0 ? (n_threads) : 1;                                     \
        _Pragma("omp parallel num_threads(threads_)")                                              \
        {                                                                                           \
            FN(scratch) sc_;                                                                        \
            const int ok_ = FN(scratch_alloc)(&sc_, net, (max_cols), (with_dsave)) == SJ_OK;       \
            if (!ok_) {                                                                             \
                _Pragma("omp atomic write") status_ = SJ_ENOMEM;                                   \
            }                                                                                       \
            _Pragma("omp for schedule(static)")                                                     \
            for (int64_t p_ = 0; p_ < (n_particles); ++p_) {                                        \
                if (ok_) { BODY(p_, &sc_); }                                                       \
            }                                                                                       \
            if (ok_) FN(scratch_free)(&sc_);                                                        \
        }                                                                                           \
        (status) = status_;                                                                         \
    } while (0)
#else
#define SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, with_dsave, BODY)               \
    do {                                                                                            \
        (void)(n_threads);                                                                          \
        FN(scratch) sc_;                                                                            \
        (status) = FN(scratch_alloc)(&sc_, net, (max_cols), (with_dsave));                          \
        if ((status) == SJ_OK) {                                                                    \
            for (int64_t p_ = 0; p_ < (n_particles); ++p_) { BODY(p_, &sc_); }                      \
            FN(scratch_free)(&sc_);                                                                 \
        }                                                                                           \
    } while (0)
#endif

int FN(predict)(const sj_net *net, const REAL *params, int64_t n_particles, const REAL *X,
                int64_t n_samples, REAL *Y, int n_threads)
{
    if (FN(check_net)(net) != SJ_OK || n_particles < 0 || n_samples < 0) return SJ_EINVAL;
    if (n_particles == 0 || n_samples == 0) return SJ_OK;
    const int d_out = net->sizes[net->n_layers];
#define SJ_BODY(p, sc)                                                                              \
    FN(particle_predict)(net, params + (size_t)(p) * net->n_params, X, n_samples,                  \
                         Y + (size_t)(p) * n_samples * d_out, sc)
    int status;
    SJ_FOR_PARTICLES(status, n_particles, n_threads, 1, 0, SJ_BODY);
#undef SJ_BODY
    return status;
}

int FN(value_and_jacobian)(const sj_net *net, const REAL *params, int64_t n_particles, const REAL *X,
                           int64_t n_samples, REAL *Y, REAL *J, int mode, int n_threads)
{
    if (FN(check_net)(net) != SJ_OK || n_particles < 0 || n_samples < 0) return SJ_EINVAL;
    if (mode != SJ_MODE_FORWARD && mode != SJ_MODE_REVERSE) return SJ_EINVAL;
    if (n_particles == 0 || n_samples == 0) return SJ_OK;
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    int32_t *all_dirs = malloc((size_t)d_in * sizeof(int32_t));
    if (!all_dirs) return SJ_ENOMEM;
    for (int j = 0; j < d_in; ++j) all_dirs[j] = j;
    const int max_cols = mode == SJ_MODE_REVERSE ? (d_out > 1 ? d_out : 1) : 1 + d_in;
#define SJ_BODY(p, sc)                                                                              \
    FN(particle_value_and_jacobian)(net, params + (size_t)(p) * net->n_params, X, n_samples,       \
                                    Y + (size_t)(p) * n_samples * d_out,                           \
                                    J + (size_t)(p) * n_samples * d_out * d_in, mode, all_dirs, sc)
    int status;
    SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, mode == SJ_MODE_REVERSE, SJ_BODY);
#undef SJ_BODY
    free(all_dirs);
    return status;
}

int FN(fitness)(const sj_net *net, const REAL *params, int64_t n_particles, const DATA *data,
                REAL *fitness, int mode, int n_threads)
{
    if (FN(check_net)(net) != SJ_OK || n_particles < 0 || !data || data->n_blocks < 0) return SJ_EINVAL;
    if (mode != SJ_MODE_FORWARD && mode != SJ_MODE_REVERSE && mode != SJ_MODE_AUTO) return SJ_EINVAL;
    if (n_particles == 0) return SJ_OK;
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    int max_dir = 0;
    for (int64_t blk = 0; blk < data->n_blocks; ++blk) {
        const int nd = data->block_n_dirs[blk];
        if (nd < 0 || nd > d_in) return SJ_EINVAL;
        for (int t = 0; t < nd; ++t) {
            const int j = data->block_dirs[(size_t)blk * d_in + t];
            if (j < 0 || j >= d_in) return SJ_EINVAL;
        }
        if (nd > max_dir) max_dir = nd;
    }
    const int forward_cols = 1 + max_dir, reverse_cols = d_out > 1 ? d_out : 1;
    const int max_cols = mode == SJ_MODE_REVERSE ? reverse_cols
                       : mode == SJ_MODE_FORWARD ? forward_cols
                       : (forward_cols > reverse_cols ? forward_cols : reverse_cols);
#define SJ_BODY(p, sc)                                                                              \
    fitness[p] = FN(particle_fitness)(net, params + (size_t)(p) * net->n_params, data, mode, sc)
    int status;
    SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, mode != SJ_MODE_FORWARD, SJ_BODY);
#undef SJ_BODY
    return status;
}

int FN(eval_activation)(int code, const REAL *z, int64_t n, REAL *a, REAL *d)
{
    if (code < 0 || code >= SJ_N_ACTIVATIONS || n < 0) return SJ_EINVAL;
    for (int64_t start = 0; start < n; start += SJ_BLOCK) {
        REAL zb[SJ_BLOCK], ab[SJ_BLOCK], db[SJ_BLOCK];
        const int m = (int)((n - start) < SJ_BLOCK ? (n - start) : SJ_BLOCK);
        for (int s = 0; s < SJ_BLOCK; ++s) zb[s] = s < m ? z[start + s] : 0;
        FN(activation_block)(code, zb, ab, db, SJ_BLOCK);
        for (int s = 0; s < m; ++s) {
            a[start + s] = ab[s];
            d[start + s] = db[s];
        }
    }
    return SJ_OK;
}

#undef FN
#undef DATA
#undef SJ_CAT
#undef SJ_CAT2
#undef SJ_FOR_PARTICLES
