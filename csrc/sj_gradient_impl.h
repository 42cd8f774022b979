/* swarmjac fitness gradient with respect to the weights, per particle: included at the end of
 * sj_particle_impl.h, so it is compiled once per (element type, ISA level) with the same dense kernel,
 * packing and activations as the fitness.
 *
 * Reverse over forward.  The forward sweep is the fitness's forward-mode sweep (value columns and one
 * tangent column block per observed input direction), except that it keeps, per layer, the
 * pre-activation columns [z, dz_t], the post-activation columns [a, da_t], f'(z) and f''(z).  Then one
 * reverse sweep carries adjoints of all those columns back through the layers:
 *     a = f(z), da_t = f'(z) dz_t   ->   zbar = f'(z) abar + f''(z) sum_t dz_t dabar_t,  dzbar_t = f'(z) dabar_t
 *     z = W a_in + b, dz_t = W da_in_t   ->   Wbar += [zbar, dzbar_t] [a_in, da_in_t]^T,  bbar += zbar,
 *                                             [abar_in, dabar_in_t] = W^T [zbar, dzbar_t]
 * so the mixed second derivatives the derivative terms need come out of one extra product per layer
 * (W^T, the same dense kernel on the transposed packing) and one accumulation of outer products.  The
 * input tangents are unit vectors e_j: the first layer's tangent contribution to Wbar is a column sum. */

/* dd = f''(z) from z, a = f(z) and d = f'(z) (for lanes of a linear layer the caller never asks). */
SJ_INLINE void FN(second_derivative_block)(int code, const REAL *restrict z, const REAL *restrict a,
                                           const REAL *restrict d, REAL *restrict dd, int n)
{
    switch (code) {
    case SJ_SIGMOID: /* s' = s (1 - s), s'' = s' (1 - 2 s) */
        for (int s = 0; s < n; ++s) dd[s] = d[s] * ((REAL)1 - (REAL)2 * a[s]);
        break;
    case SJ_TANH: /* t' = 1 - t^2, t'' = -2 t t' */
        for (int s = 0; s < n; ++s) dd[s] = (REAL)-2 * a[s] * d[s];
        break;
    case SJ_SOFTPLUS: /* softplus' = sigmoid, softplus'' = sigmoid (1 - sigmoid) */
        for (int s = 0; s < n; ++s) dd[s] = d[s] * ((REAL)1 - d[s]);
        break;
    case SJ_ELU: /* z <= 0: exp(z), which is d; z > 0: 0 (a NaN z keeps its NaN through d) */
        for (int s = 0; s < n; ++s) dd[s] = z[s] > 0 ? (REAL)0 : d[s];
        break;
    case SJ_SIN:
        for (int s = 0; s < n; ++s) dd[s] = -a[s];
        break;
    case SJ_GELU:
        /* f = x (1 + t) / 2 with t = tanh(u), u = K0 (x + K1 x^3):
         * f'' = (1 - t^2) u' + x/2 (1 - t^2) (u'' - 2 t u'^2), u' = K0 (1 + 3 K1 x^2), u'' = 6 K0 K1 x.
         * Clamped like the first derivative: beyond |x| = 20, 1 - t^2 is exactly 0. */
        for (int s = 0; s < n; ++s) {
            REAL xc;
            const REAL t = FN(gelu_tanh)(z[s], &xc);
            const REAL sech2 = (REAL)1 - t * t;
            const REAL du = SJ_GELU_K0 * ((REAL)1 + (REAL)3 * SJ_GELU_K1 * xc * xc);
            const REAL ddu = (REAL)6 * SJ_GELU_K0 * SJ_GELU_K1 * xc;
            dd[s] = sech2 * du + (REAL)0.5 * xc * sech2 * (ddu - (REAL)2 * t * du * du);
        }
        break;
    default: /* linear, relu, leaky_relu: piecewise linear */
        for (int s = 0; s < n; ++s) dd[s] = 0;
        break;
    }
}

/* Sum of the lanes of v: a pairwise fold in the element type (a fixed order, so deterministic), one
 * conversion to double.  (Converting every lane cost float32 most of its speed-up: 16 lanes per weight
 * and block.) */
SJ_INLINE double FN(lane_sum)(FN(vec) v)
{
    REAL lanes[SJ_VL];
    memcpy(lanes, &v, sizeof lanes);
    for (int half = SJ_VL / 2; half > 0; half /= 2)
        for (int i = 0; i < half; ++i) lanes[i] += lanes[i + half];
    return (double)lanes[0];
}

/* acc[o * in + i] += sum_c G[o, c] A[i, c] over n_cols columns (a multiple of SJ_VL); G rows g_stride and
 * A rows a_stride apart.  Four rows of A at a time share each load of G. */
SJ_INLINE void FN(outer_accumulate)(int out, int in, int n_cols, const REAL *restrict G, size_t g_stride,
                                    const REAL *restrict A, size_t a_stride, double *restrict acc)
{
    for (int o = 0; o < out; ++o) {
        const REAL *restrict g = G + (size_t)o * g_stride;
        double *restrict acc_row = acc + (size_t)o * in;
        int i = 0;
        for (; i + 4 <= in; i += 4) {
            const REAL *restrict a0 = A + (size_t)i * a_stride;
            FN(vec) s0 = SJ_VZERO(), s1 = SJ_VZERO(), s2 = SJ_VZERO(), s3 = SJ_VZERO();
            for (int c = 0; c < n_cols; c += SJ_VL) {
                const FN(vec) gv = SJ_VLOAD(g + c);
                SJ_VFMA(s0, gv, SJ_VLOAD(a0 + c));
                SJ_VFMA(s1, gv, SJ_VLOAD(a0 + a_stride + c));
                SJ_VFMA(s2, gv, SJ_VLOAD(a0 + 2 * a_stride + c));
                SJ_VFMA(s3, gv, SJ_VLOAD(a0 + 3 * a_stride + c));
            }
            acc_row[i] += FN(lane_sum)(s0);
            acc_row[i + 1] += FN(lane_sum)(s1);
            acc_row[i + 2] += FN(lane_sum)(s2);
            acc_row[i + 3] += FN(lane_sum)(s3);
        }
        for (; i < in; ++i) {
            const REAL *restrict a0 = A + (size_t)i * a_stride;
            FN(vec) s0 = SJ_VZERO();
            for (int c = 0; c < n_cols; c += SJ_VL)
                SJ_VFMA(s0, SJ_VLOAD(g + c), SJ_VLOAD(a0 + c));
            acc_row[i] += FN(lane_sum)(s0);
        }
    }
}

/* Sum of n (a multiple of SJ_VL) contiguous elements, vector lanes first: deterministic. */
SJ_INLINE double FN(row_sum)(const REAL *restrict row, int n)
{
    FN(vec) s = SJ_VZERO();
    for (int c = 0; c < n; c += SJ_VL) SJ_VADD(s, SJ_VLOAD(row + c));
    return FN(lane_sum)(s);
}

/* The activation of a layer for the gradient's forward sweep: post = [f(z), f'(z) dz_t] from
 * pre = [z, dz_t], keeping f'(z) in d1 and f''(z) in d2.  Same arithmetic as activate(), so the values
 * and tangents (and hence the fitness) are bit for bit those of the fitness's forward mode. */
SJ_INLINE void FN(activate_saving)(int code, int out, int n_dir, const REAL *restrict pre, REAL *restrict post,
                                   REAL *restrict d1, REAL *restrict d2)
{
    const size_t n_cols = (size_t)(1 + n_dir) * SJ_BLOCK;
    for (int o = 0; o < out; ++o) {
        const REAL *restrict z = pre + (size_t)o * n_cols;
        REAL *restrict a = post + (size_t)o * n_cols;
        REAL *restrict d = d1 + (size_t)o * SJ_BLOCK;
        FN(activation_block)(code, z, a, d, SJ_BLOCK);
        FN(second_derivative_block)(code, z, a, d, d2 + (size_t)o * SJ_BLOCK, SJ_BLOCK);
        for (int t = 0; t < n_dir; ++t) {
            const REAL *restrict dz = z + (size_t)(1 + t) * SJ_BLOCK;
            REAL *restrict da = a + (size_t)(1 + t) * SJ_BLOCK;
            for (int s = 0; s < SJ_BLOCK; ++s) da[s] = dz[s] * d[s];
        }
    }
}

/* Back through a layer's activation, in place on the adjoint columns G = [abar, dabar_t]:
 * zbar = f'(z) abar + f''(z) sum_t dz_t dabar_t, then dzbar_t = f'(z) dabar_t. */
SJ_INLINE void FN(activation_adjoint)(int out, int n_dir, const REAL *restrict pre, const REAL *restrict d1,
                                      const REAL *restrict d2, REAL *restrict G)
{
    const size_t n_cols = (size_t)(1 + n_dir) * SJ_BLOCK;
    for (int o = 0; o < out; ++o) {
        const REAL *restrict z = pre + (size_t)o * n_cols;
        const REAL *restrict d = d1 + (size_t)o * SJ_BLOCK;
        const REAL *restrict dd = d2 + (size_t)o * SJ_BLOCK;
        REAL *restrict g = G + (size_t)o * n_cols;
        SJ_ALIGN64 REAL mixed[SJ_BLOCK];
        for (int s = 0; s < SJ_BLOCK; ++s) mixed[s] = 0;
        for (int t = 0; t < n_dir; ++t) {
            const REAL *restrict dz = z + (size_t)(1 + t) * SJ_BLOCK;
            REAL *restrict dg = g + (size_t)(1 + t) * SJ_BLOCK;
            for (int s = 0; s < SJ_BLOCK; ++s) {
                mixed[s] += dz[s] * dg[s];
                dg[s] *= d[s];
            }
        }
        for (int s = 0; s < SJ_BLOCK; ++s) g[s] = d[s] * g[s] + dd[s] * mixed[s];
    }
}

/* Seeds of the reverse sweep for one output row: g = 2 * scale * mask * (pred - target), 0 where not
 * observed (even if pred is not finite there). */
SJ_INLINE void FN(loss_adjoint)(const REAL *restrict pred, const REAL *restrict target, const REAL *restrict mask,
                                double scale, REAL *restrict g)
{
    for (int s = 0; s < SJ_BLOCK; ++s) {
        const double diff = (double)pred[s] - (double)target[s];
        g[s] = mask[s] != 0 ? (REAL)(2.0 * scale * (double)mask[s] * diff) : (REAL)0;
    }
}

/* The saved columns of one block: per layer, pre = [z, dz_t], post = [a, da_t] (post = pre for a linear
 * layer), f'(z) and f''(z), carved from the scratch save area for n_tan tangent column blocks. */
typedef struct {
    REAL *pre[SJ_MAX_LAYERS], *post[SJ_MAX_LAYERS], *d1[SJ_MAX_LAYERS], *d2[SJ_MAX_LAYERS];
} FN(saved);

SJ_INLINE void FN(carve_saved)(const sj_net *net, int n_tan, REAL *save, FN(saved) *sv)
{
    const size_t n_cols = (size_t)(1 + n_tan) * SJ_BLOCK;
    for (int l = 0; l < net->n_layers; ++l) {
        const int out = net->sizes[l + 1];
        sv->pre[l] = save;
        save += (size_t)out * n_cols;
        if (net->activations[l] == SJ_LINEAR) {
            sv->post[l] = sv->pre[l];
            sv->d1[l] = sv->d2[l] = NULL;
        } else {
            sv->post[l] = save;
            save += (size_t)out * n_cols;
            sv->d1[l] = save;
            save += (size_t)out * SJ_BLOCK;
            sv->d2[l] = save;
            save += (size_t)out * SJ_BLOCK;
        }
    }
}

/* Forward sweep of a block keeping every layer's columns, with n_tan tangent column blocks whose input
 * tangents are either the unit vectors e_dirs[t] (dirs given) or the per-sample vectors in rows
 * (d_in, n_tan * SJ_BLOCK) of V (dirs NULL).  Returns the output columns, (d_out, (1 + n_tan) * SJ_BLOCK). */
SJ_INLINE const REAL *FN(forward_saving)(const sj_net *net, const REAL *restrict theta, const FN(weights) *w,
                                         const REAL *restrict x, int n_tan, const int32_t *restrict dirs,
                                         const REAL *restrict V, const FN(saved) *sv)
{
    const int L = net->n_layers;
    const size_t n_cols = (size_t)(1 + n_tan) * SJ_BLOCK;
    for (int l = 0; l < L; ++l) {
        const int in = net->sizes[l], out = net->sizes[l + 1];
        if (l > 0)
            FN(dense)(out, in, (int)n_cols, SJ_BLOCK, w->wf[l], w->b[l], NULL, sv->post[l - 1], n_cols, sv->pre[l],
                      n_cols);
        else if (dirs)
            FN(dense_input)(out, in, n_tan, dirs, w->wf[0], theta, w->b[0], x, sv->pre[0]);
        else {
            /* Values W x + b; tangents W V (no bias). */
            FN(dense)(out, in, SJ_BLOCK, SJ_BLOCK, w->wf[0], w->b[0], NULL, x, SJ_BLOCK, sv->pre[0], n_cols);
            FN(dense)(out, in, n_tan * SJ_BLOCK, 0, w->wf[0], w->b[0], NULL, V, (size_t)n_tan * SJ_BLOCK,
                      sv->pre[0] + SJ_BLOCK, n_cols);
        }
        if (net->activations[l] != SJ_LINEAR)
            FN(activate_saving)(net->activations[l], out, n_tan, sv->pre[l], sv->post[l], sv->d1[l], sv->d2[l]);
    }
    return sv->post[L - 1];
}

/* Reverse sweep through the saved columns from the output adjoints in G (d_out rows of (1 + n_tan) lane
 * blocks), accumulating Wbar and bbar into gacc; G and G_next are clobbered.  The input tangents are those
 * of forward_saving (dirs or V). */
SJ_INLINE void FN(backward_saved)(const sj_net *net, const FN(weights) *w, const REAL *restrict x, int n_tan,
                                  const int32_t *restrict dirs, const REAL *restrict V, const FN(saved) *sv,
                                  const size_t *w_off, const size_t *b_off, REAL *G, REAL *G_next,
                                  double *restrict gacc)
{
    const size_t n_cols = (size_t)(1 + n_tan) * SJ_BLOCK;
    for (int l = net->n_layers - 1; l >= 0; --l) {
        const int in = net->sizes[l], out = net->sizes[l + 1];
        if (net->activations[l] != SJ_LINEAR)
            FN(activation_adjoint)(out, n_tan, sv->pre[l], sv->d1[l], sv->d2[l], G);
        double *W_bar = gacc + w_off[l], *b_bar = gacc + b_off[l];
        for (int o = 0; o < out; ++o) b_bar[o] += FN(row_sum)(G + (size_t)o * n_cols, SJ_BLOCK);
        if (l > 0) {
            FN(outer_accumulate)(out, in, (int)n_cols, G, n_cols, sv->post[l - 1], n_cols, W_bar);
            FN(dense)(in, out, (int)n_cols, 0, w->wt[l], w->b[l], NULL, G, n_cols, G_next, n_cols);
            REAL *swap = G;
            G = G_next;
            G_next = swap;
            continue;
        }
        /* Inputs: the value columns are x; the tangents are e_dirs[t] (a column sum) or the rows of V. */
        FN(outer_accumulate)(out, in, SJ_BLOCK, G, n_cols, x, SJ_BLOCK, W_bar);
        if (dirs) {
            for (int o = 0; o < out; ++o)
                for (int t = 0; t < n_tan; ++t)
                    W_bar[(size_t)o * in + dirs[t]] +=
                        FN(row_sum)(G + (size_t)o * n_cols + (size_t)(1 + t) * SJ_BLOCK, SJ_BLOCK);
        } else if (n_tan > 0) {
            FN(outer_accumulate)(out, in, n_tan * SJ_BLOCK, G + SJ_BLOCK, n_cols, V, (size_t)n_tan * SJ_BLOCK, W_bar);
        }
    }
}

/* Fitness of one particle and its gradient (n_params) into grad, in the given mode (per block by
 * sj_block_reverse, as the fitness).  A forward block carries the tangents of its observed directions and
 * sweeps back through values and tangents.  A reverse block first gets its Jacobian as the fitness does
 * (value sweep, one adjoint sweep per output), then uses that the derivative terms' gradient is the
 * gradient of sum_k J_k . r_k with the residual vectors r_k = 2 * scale * mask * (J_k - target) held fixed:
 * one tangent per output, whose input tangent is r_k at each sample (d_out columns instead of n_dir).
 * The saved columns live in sc->gsave (the residual vectors first); gradient sums in double in sc->gacc. */
static REAL FN(particle_fitness_gradient)(const sj_net *net, const REAL *theta, const sj_data *data, int mode,
                                          sj_scratch *sc, REAL *grad)
{
    const int64_t n_params = net->n_params;
    if (FN(has_nonfinite)(theta, n_params)) {
        for (int64_t i = 0; i < n_params; ++i) grad[i] = (REAL)NAN;
        return (REAL)INFINITY;
    }
    const int L = net->n_layers;
    const int d_in = net->sizes[0], d_out = net->sizes[L];
    double *restrict gacc = sc->gacc;
    for (int64_t i = 0; i < n_params; ++i) gacc[i] = 0.0;
    /* Offsets of W_l and b_l in theta (and in the gradient). */
    size_t w_off[SJ_MAX_LAYERS], b_off[SJ_MAX_LAYERS];
    size_t pos = 0;
    for (int l = 0; l < L; ++l) {
        w_off[l] = pos;
        b_off[l] = pos + (size_t)net->sizes[l + 1] * net->sizes[l];
        pos = b_off[l] + (size_t)net->sizes[l + 1];
    }
    SJ_ALIGN64 double acc_value[SJ_BLOCK];
    SJ_ALIGN64 double acc_deriv[SJ_BLOCK];
    for (int s = 0; s < SJ_BLOCK; ++s) acc_value[s] = acc_deriv[s] = 0.0;
    FN(weights) w;
    FN(pack_particle)(net, theta, 1, sc->packed, &w);
    REAL *const residuals = (REAL *)sc->gsave; /* (d_in, d_out * SJ_BLOCK) */
    REAL *const save = residuals + (size_t)d_in * d_out * SJ_BLOCK;
    REAL *buf0 = (REAL *)sc->buf0, *buf1 = (REAL *)sc->buf1;
    for (int64_t blk = 0; blk < data->n_blocks; ++blk) {
        const FN(block_obs) ob = FN(block_at)(net, data, blk);
        const int n_dir = ob.n_dir;
        const int32_t *dirs = ob.dirs;
        const REAL *x = ob.x, *y = ob.y, *y_mask = ob.y_mask, *dydx = ob.dydx, *dydx_mask = ob.dydx_mask;
        const int reverse = sj_block_reverse(mode, d_out, n_dir);
        const int n_tan = reverse ? d_out : n_dir;
        const size_t n_cols = (size_t)(1 + n_tan) * SJ_BLOCK;
        FN(saved) sv;
        FN(carve_saved)(net, n_tan, save, &sv);
        const REAL *pred;

        if (reverse) {
            /* The fitness's own reverse sweep (same sums, same order), then the residual vectors. */
            const REAL *out = FN(forward_block)(net, theta, &w, x, dirs, 0, buf0, buf1, sc->dsave);
            for (int k = 0; k < d_out; ++k)
                FN(accumulate_sq_err)(out + (size_t)k * SJ_BLOCK, y + (size_t)k * SJ_BLOCK,
                                      y_mask + (size_t)k * SJ_BLOCK, acc_value);
            const REAL *adj = FN(reverse_block)(net, &w, sc->dsave, buf0, buf1);
            const size_t adj_cols = (size_t)d_out * SJ_BLOCK;
            for (int j = 0; j < d_in; ++j)
                for (int s = 0; s < (int)adj_cols; ++s) residuals[(size_t)j * adj_cols + s] = 0;
            for (int t = 0; t < n_dir; ++t) {
                const int j = dirs[t];
                for (int k = 0; k < d_out; ++k) {
                    const size_t target = ((size_t)j * d_out + k) * SJ_BLOCK;
                    const REAL *row = adj + (size_t)j * adj_cols + (size_t)k * SJ_BLOCK;
                    FN(accumulate_sq_err)(row, dydx + target, dydx_mask + target, acc_deriv);
                    FN(loss_adjoint)(row, dydx + target, dydx_mask + target, data->derivative_scale,
                                     residuals + (size_t)j * adj_cols + (size_t)k * SJ_BLOCK);
                }
            }
            pred = FN(forward_saving)(net, theta, &w, x, n_tan, NULL, residuals, &sv);
            /* Seeds: value adjoints as usual; tangent k seeds output k with 1 (d/dtheta of J_k . r_k). */
            for (int k = 0; k < d_out; ++k) {
                FN(loss_adjoint)(pred + (size_t)k * n_cols, y + (size_t)k * SJ_BLOCK, y_mask + (size_t)k * SJ_BLOCK,
                                 data->value_scale, buf0 + (size_t)k * n_cols);
                for (int t = 0; t < n_tan; ++t)
                    for (int s = 0; s < SJ_BLOCK; ++s)
                        buf0[(size_t)k * n_cols + (size_t)(1 + t) * SJ_BLOCK + s] = t == k ? (REAL)1 : (REAL)0;
            }
            FN(backward_saved)(net, &w, x, n_tan, NULL, residuals, &sv, w_off, b_off, buf0, buf1, gacc);
            continue;
        }

        /* Forward block: the loss of its tangent columns, and their adjoints.  (Same order of accumulation
         * as particle_fitness: the sums are bit for bit the same.) */
        pred = FN(forward_saving)(net, theta, &w, x, n_tan, dirs, NULL, &sv);
        for (int k = 0; k < d_out; ++k) {
            const REAL *row = pred + (size_t)k * n_cols;
            FN(accumulate_sq_err)(row, y + (size_t)k * SJ_BLOCK, y_mask + (size_t)k * SJ_BLOCK, acc_value);
            FN(loss_adjoint)(row, y + (size_t)k * SJ_BLOCK, y_mask + (size_t)k * SJ_BLOCK, data->value_scale,
                             buf0 + (size_t)k * n_cols);
        }
        for (int t = 0; t < n_dir; ++t)
            for (int k = 0; k < d_out; ++k) {
                const size_t target = ((size_t)dirs[t] * d_out + k) * SJ_BLOCK;
                const REAL *tan_row = pred + (size_t)k * n_cols + (size_t)(1 + t) * SJ_BLOCK;
                FN(accumulate_sq_err)(tan_row, dydx + target, dydx_mask + target, acc_deriv);
                FN(loss_adjoint)(tan_row, dydx + target, dydx_mask + target, data->derivative_scale,
                                 buf0 + (size_t)k * n_cols + (size_t)(1 + t) * SJ_BLOCK);
            }
        FN(backward_saved)(net, &w, x, n_tan, dirs, NULL, &sv, w_off, b_off, buf0, buf1, gacc);
    }
    const REAL fr = FN(fold_fitness)(data, acc_value, acc_deriv);
    if (!isfinite(fr)) {
        for (int64_t i = 0; i < n_params; ++i) grad[i] = (REAL)NAN;
        return (REAL)INFINITY;
    }
    for (int64_t i = 0; i < n_params; ++i) grad[i] = (REAL)gacc[i];
    return fr;
}
