/* swarmjac kernel entry points, templated on the element type: included by sj_kernels_type.h (once per
 * REAL/SUF of sj_kernels.c), after the per-ISA instantiations of sj_particle_impl.h.  Checks the
 * arguments, allocates per-thread scratch, picks the ISA level once per call and runs the per-particle
 * function of that level over the particles (OpenMP, static schedule). */

#define FN(name) SJ_CAT(sj_##name, SUF)
#define ISA_FN(name, isa) SJ_CAT(SJ_CAT(sj_##name, SUF), isa)

/* The per-particle functions of each ISA level, indexed by sj_isa_level(). */
typedef void (*FN(predict_fn))(const sj_net *, const REAL *, const REAL *, int64_t, REAL *, sj_scratch *);
typedef void (*FN(vjac_fn))(const sj_net *, const REAL *, const REAL *, int64_t, REAL *, REAL *, int,
                            const int32_t *, sj_scratch *);
typedef REAL (*FN(fitness_fn))(const sj_net *, const REAL *, const sj_data *, int, int, sj_scratch *);
typedef REAL (*FN(gradient_fn))(const sj_net *, const REAL *, const sj_data *, int, sj_scratch *, REAL *);
#ifdef SJ_DISPATCH
static const FN(predict_fn) FN(predict_isa)[SJ_N_ISA] = {
    ISA_FN(particle_predict, base), ISA_FN(particle_predict, v3), ISA_FN(particle_predict, v4)};
static const FN(vjac_fn) FN(vjac_isa)[SJ_N_ISA] = {
    ISA_FN(particle_value_and_jacobian, base), ISA_FN(particle_value_and_jacobian, v3),
    ISA_FN(particle_value_and_jacobian, v4)};
static const FN(fitness_fn) FN(fitness_isa)[SJ_N_ISA] = {
    ISA_FN(particle_fitness, base), ISA_FN(particle_fitness, v3), ISA_FN(particle_fitness, v4)};
static const FN(gradient_fn) FN(gradient_isa)[SJ_N_ISA] = {
    ISA_FN(particle_fitness_gradient, base), ISA_FN(particle_fitness_gradient, v3),
    ISA_FN(particle_fitness_gradient, v4)};
#else
static const FN(predict_fn) FN(predict_isa)[SJ_N_ISA] = {ISA_FN(particle_predict, base)};
static const FN(vjac_fn) FN(vjac_isa)[SJ_N_ISA] = {ISA_FN(particle_value_and_jacobian, base)};
static const FN(fitness_fn) FN(fitness_isa)[SJ_N_ISA] = {ISA_FN(particle_fitness, base)};
static const FN(gradient_fn) FN(gradient_isa)[SJ_N_ISA] = {ISA_FN(particle_fitness_gradient, base)};
#endif

/* ----- per-thread scratch ----- */

static int FN(max_width)(const sj_net *net)
{
    int w = 0;
    for (int l = 0; l <= net->n_layers; ++l)
        if (net->sizes[l] > w) w = net->sizes[l];
    return w;
}

/* Layer buffers for up to max_cols lane blocks per unit and the packed weights; for kind
 * SJ_SCRATCH_REVERSE also W^T and f'(z) of every unit; for SJ_SCRATCH_GRADIENT also W^T, every layer's
 * pre- and post-activation columns with f'(z) and f''(z), and the n_params gradient sums. */
static int FN(scratch_alloc)(sj_scratch *sc, const sj_net *net, int max_cols, int kind)
{
    const size_t width = (size_t)FN(max_width)(net);
    const int transposed = kind != SJ_SCRATCH_FORWARD;
    size_t total_units = 0, n_weights = 0;
    for (int l = 1; l <= net->n_layers; ++l) {
        total_units += (size_t)net->sizes[l];
        n_weights += (size_t)net->sizes[l] * (size_t)net->sizes[l - 1];
    }
    sc->buf0 = sc->buf1 = sc->dsave = sc->packed = sc->gsave = NULL;
    sc->gacc = NULL;
    /* Refuse sizes whose byte count would overflow instead of allocating a wrapped-around size
     * (the gradient's save area is 2 * total_units * (max_cols + 1) lane blocks at most). */
    const size_t lane_bytes = (size_t)SJ_BLOCK * sizeof(REAL);
    if (max_cols < 1 || width > SIZE_MAX / lane_bytes / (size_t)max_cols
        || total_units > SIZE_MAX / lane_bytes / 2 / ((size_t)max_cols + 1)
        || n_weights > SIZE_MAX / 2 / sizeof(REAL) || (size_t)net->n_params > SIZE_MAX / sizeof(double))
        return SJ_ENOMEM;
    sc->buf0 = sj_aligned_alloc(width * max_cols * lane_bytes);
    sc->buf1 = sj_aligned_alloc(width * max_cols * lane_bytes);
    sc->packed = sj_aligned_alloc(n_weights * (transposed ? 2 : 1) * sizeof(REAL));
    int ok = sc->buf0 && sc->buf1 && sc->packed;
    if (kind == SJ_SCRATCH_REVERSE) {
        sc->dsave = sj_aligned_alloc(total_units * lane_bytes);
        ok = ok && sc->dsave;
    } else if (kind == SJ_SCRATCH_GRADIENT) {
        /* f'(z) for the Jacobian sweeps of reverse blocks; the residual vectors (d_in x d_out lane blocks)
         * and the saved columns of every layer. */
        const size_t n_residual = (size_t)net->sizes[0] * (size_t)net->sizes[net->n_layers];
        sc->dsave = sj_aligned_alloc(total_units * lane_bytes);
        sc->gsave = sj_aligned_alloc((n_residual + total_units * 2 * ((size_t)max_cols + 1)) * lane_bytes);
        sc->gacc = sj_aligned_alloc((size_t)net->n_params * sizeof(double));
        ok = ok && sc->dsave && sc->gsave && sc->gacc;
    }
    if (!ok) {
        sj_scratch_free(sc);
        return SJ_ENOMEM;
    }
    return SJ_OK;
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

/* ----- entry points: OpenMP over particles, static schedule, one scratch per thread ----- */

/* Runs BODY(p, &scratch) for every particle p, with scratch allocated once per thread, and stores
 * SJ_OK or SJ_ENOMEM in status.  Each particle is computed entirely by one thread in a fixed order, so
 * results do not depend on n_threads. */
#ifdef SJ_HAVE_OPENMP
#define SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, kind, BODY)             \
    do {                                                                                            \
        int status_ = SJ_OK;                                                                        \
        const int threads_ = ((n_threads) < 1 || (n_particles) < 2) ? 1 /* no more than particles */      \
                             : (n_threads) > (n_particles) ? (int)(n_particles) : (n_threads);             \
        _Pragma("omp parallel num_threads(threads_)")                                              \
        {                                                                                           \
            sj_scratch sc_;                                                                         \
            const int ok_ = FN(scratch_alloc)(&sc_, net, (max_cols), (kind)) == SJ_OK;     \
            if (!ok_) {                                                                             \
                _Pragma("omp atomic write") status_ = SJ_ENOMEM;                                   \
            }                                                                                       \
            _Pragma("omp for schedule(static)")                                                     \
            for (int64_t p_ = 0; p_ < (n_particles); ++p_) {                                        \
                if (ok_) { BODY(p_, &sc_); }                                                       \
            }                                                                                       \
            if (ok_) sj_scratch_free(&sc_);                                                         \
        }                                                                                           \
        (status) = status_;                                                                         \
    } while (0)
#else
#define SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, kind, BODY)             \
    do {                                                                                            \
        (void)(n_threads);                                                                          \
        sj_scratch sc_;                                                                             \
        (status) = FN(scratch_alloc)(&sc_, net, (max_cols), (kind));                        \
        if ((status) == SJ_OK) {                                                                    \
            for (int64_t p_ = 0; p_ < (n_particles); ++p_) { BODY(p_, &sc_); }                      \
            sj_scratch_free(&sc_);                                                                  \
        }                                                                                           \
    } while (0)
#endif

int FN(predict)(const sj_net *net, const REAL *params, int64_t n_particles, const REAL *X,
                int64_t n_samples, REAL *Y, int n_threads)
{
    if (FN(check_net)(net) != SJ_OK || n_particles < 0 || n_samples < 0) return SJ_EINVAL;
    if (n_particles == 0 || n_samples == 0) return SJ_OK;
    const int d_out = net->sizes[net->n_layers];
    const FN(predict_fn) particle = FN(predict_isa)[sj_isa_level()];
#define SJ_BODY(p, sc)                                                                              \
    particle(net, params + (size_t)(p) * net->n_params, X, n_samples, Y + (size_t)(p) * n_samples * d_out, sc)
    int status;
    SJ_FOR_PARTICLES(status, n_particles, n_threads, 1, SJ_SCRATCH_FORWARD, SJ_BODY);
#undef SJ_BODY
    return status;
}

/* SJ_MODE_AUTO is resolved by sj_block_reverse, the one rule every entry point uses. */
int FN(value_and_jacobian)(const sj_net *net, const REAL *params, int64_t n_particles, const REAL *X,
                           int64_t n_samples, REAL *Y, REAL *J, int mode, int n_threads)
{
    if (FN(check_net)(net) != SJ_OK || n_particles < 0 || n_samples < 0) return SJ_EINVAL;
    if (mode != SJ_MODE_FORWARD && mode != SJ_MODE_REVERSE && mode != SJ_MODE_AUTO) return SJ_EINVAL;
    if (n_particles == 0 || n_samples == 0) return SJ_OK;
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    const int reverse = sj_block_reverse(mode, d_out, d_in);
    const int sweep = reverse ? SJ_MODE_REVERSE : SJ_MODE_FORWARD;
    int32_t *all_dirs = malloc((size_t)d_in * sizeof(int32_t));
    if (!all_dirs) return SJ_ENOMEM;
    for (int j = 0; j < d_in; ++j) all_dirs[j] = j;
    const int max_cols = reverse ? (d_out > 1 ? d_out : 1) : 1 + d_in;
    const FN(vjac_fn) particle = FN(vjac_isa)[sj_isa_level()];
#define SJ_BODY(p, sc)                                                                              \
    particle(net, params + (size_t)(p) * net->n_params, X, n_samples, Y + (size_t)(p) * n_samples * d_out, \
             J + (size_t)(p) * n_samples * d_out * d_in, sweep, all_dirs, sc)
    int status;
    SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, reverse ? SJ_SCRATCH_REVERSE : SJ_SCRATCH_FORWARD,
                     SJ_BODY);
#undef SJ_BODY
    free(all_dirs);
    return status;
}

/* Checks the block directions of data and finds the lane blocks per unit the widest block needs
 * (1 + n_dir tangents forward; the d_out adjoints of a reverse sweep) and whether any block goes reverse
 * in this mode (then W^T and f'(z) are needed). */
static int FN(check_data)(const sj_net *net, const sj_data *data, int mode, int *max_cols, int *any_reverse)
{
    if (!data || data->n_blocks < 0) return SJ_EINVAL;
    const int d_in = net->sizes[0], d_out = net->sizes[net->n_layers];
    *max_cols = 1;
    *any_reverse = 0;
    for (int64_t blk = 0; blk < data->n_blocks; ++blk) {
        const int nd = data->block_n_dirs[blk];
        if (nd < 0 || nd > d_in) return SJ_EINVAL;
        for (int t = 0; t < nd; ++t) {
            const int j = data->block_dirs[(size_t)blk * d_in + t];
            if (j < 0 || j >= d_in) return SJ_EINVAL;
        }
        const int reverse = sj_block_reverse(mode, d_out, nd);
        const int cols = reverse ? d_out : 1 + nd;
        if (cols > *max_cols) *max_cols = cols;
        *any_reverse |= reverse;
    }
    return SJ_OK;
}

int FN(fitness)(const sj_net *net, const REAL *params, int64_t n_particles, const sj_data *data,
                REAL *fitness, int mode, int n_threads)
{
    if (FN(check_net)(net) != SJ_OK || n_particles < 0) return SJ_EINVAL;
    if (mode != SJ_MODE_FORWARD && mode != SJ_MODE_REVERSE && mode != SJ_MODE_AUTO) return SJ_EINVAL;
    int max_cols, any_reverse;
    if (FN(check_data)(net, data, mode, &max_cols, &any_reverse) != SJ_OK) return SJ_EINVAL;
    if (n_particles == 0) return SJ_OK;
    const FN(fitness_fn) particle = FN(fitness_isa)[sj_isa_level()];
#define SJ_BODY(p, sc) \
    fitness[p] = particle(net, params + (size_t)(p) * net->n_params, data, mode, any_reverse, sc)
    int status;
    SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, any_reverse ? SJ_SCRATCH_REVERSE : SJ_SCRATCH_FORWARD,
                     SJ_BODY);
#undef SJ_BODY
    return status;
}

/* A block carries 1 + n_dir lane blocks per unit forward, or (reverse) d_out for its Jacobian sweep and
 * 1 + d_out for the gradient's tangent sweep (see sj_gradient_impl.h). */
int FN(fitness_and_gradient)(const sj_net *net, const REAL *params, int64_t n_particles, const sj_data *data,
                             REAL *fitness, REAL *grad, int mode, int n_threads)
{
    if (FN(check_net)(net) != SJ_OK || n_particles < 0) return SJ_EINVAL;
    if (mode != SJ_MODE_FORWARD && mode != SJ_MODE_REVERSE && mode != SJ_MODE_AUTO) return SJ_EINVAL;
    int max_cols, any_reverse;
    if (FN(check_data)(net, data, mode, &max_cols, &any_reverse) != SJ_OK) return SJ_EINVAL;
    if (any_reverse && 1 + net->sizes[net->n_layers] > max_cols) max_cols = 1 + net->sizes[net->n_layers];
    if (n_particles == 0) return SJ_OK;
    const FN(gradient_fn) particle = FN(gradient_isa)[sj_isa_level()];
#define SJ_BODY(p, sc)                                                                              \
    fitness[p] = particle(net, params + (size_t)(p) * net->n_params, data, mode, sc,                \
                          grad + (size_t)(p) * net->n_params)
    int status;
    SJ_FOR_PARTICLES(status, n_particles, n_threads, max_cols, SJ_SCRATCH_GRADIENT, SJ_BODY);
#undef SJ_BODY
    return status;
}

/* Runs the baseline (x86-64) instance of the activation code; the network kernels run the level that
 * sj_isa_level() picks, and tests check both. */
int FN(eval_activation)(int code, const REAL *z, int64_t n, REAL *a, REAL *d)
{
    if (code < 0 || code >= SJ_N_ACTIVATIONS || n < 0) return SJ_EINVAL;
    for (int64_t start = 0; start < n; start += SJ_BLOCK) {
        REAL zb[SJ_BLOCK], ab[SJ_BLOCK], db[SJ_BLOCK];
        const int m = (int)((n - start) < SJ_BLOCK ? (n - start) : SJ_BLOCK);
        for (int s = 0; s < SJ_BLOCK; ++s) zb[s] = s < m ? z[start + s] : 0;
        ISA_FN(activation_block, base)(code, zb, ab, db, SJ_BLOCK);
        for (int s = 0; s < m; ++s) {
            a[start + s] = ab[s];
            d[start + s] = db[s];
        }
    }
    return SJ_OK;
}

#undef FN
#undef ISA_FN
#undef SJ_FOR_PARTICLES
