/* Stand-alone check of swarmjac's C core (csrc/), with no Python: built by .ci/cross.sh together with
 * csrc/sj_kernels.c for aarch64 (run under qemu), natively with gcc and clang, and (compile only) for
 * Windows.  Checks the ISA level, a hand-computed Jacobian, value_and_jacobian against central finite
 * differences of predict and against a plain-loop network, fitness against a plain loop, and
 * fitness_and_gradient against finite differences of fitness: both dtypes, forward and reverse mode.
 * Usage: check_kernels LABEL [EXPECTED_ISA]; prints "LABEL: N passed, M failed", exits 1 on a failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sj_kernels.h"

static int n_pass = 0, n_fail = 0;

/* One check: |got - want| <= atol + rtol |want| for every element. */
static void check(const char *what, const double *got, const double *want, size_t n, double rtol, double atol)
{
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; ++i) {
        const double err = got[i] == want[i] ? 0.0 : fabs(got[i] - want[i]) / (atol + rtol * fabs(want[i]));
        if (!(err <= worst)) { worst = err; at = i; } /* NaN counts as the worst */
    }
    if (worst <= 1.0) {
        ++n_pass;
    } else {
        ++n_fail;
        printf("FAIL %s: element %zu got %.17g want %.17g (%.3g x tolerance)\n", what, at, got[at], want[at], worst);
    }
}

/* ----- a plain-loop network in double (libm), value and input Jacobian by the chain rule ----- */

static double act(int code, double z, double *d)
{
    switch (code) {
    case SJ_SIGMOID: { const double s = 1.0 / (1.0 + exp(-z)); *d = s * (1.0 - s); return s; }
    case SJ_TANH: { const double t = tanh(z); *d = 1.0 - t * t; return t; }
    case SJ_SOFTPLUS: *d = 1.0 / (1.0 + exp(-z)); return (z > 0 ? z : 0.0) + log1p(exp(-fabs(z)));
    case SJ_SIN: *d = cos(z); return sin(z);
    case SJ_GELU: {
        const double k0 = 0.7978845608028654, k1 = 0.044715, t = tanh(k0 * (z + k1 * z * z * z));
        *d = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * k0 * (1.0 + 3.0 * k1 * z * z);
        return 0.5 * z * (1.0 + t);
    }
    default: *d = 1.0; return z; /* linear */
    }
}

enum { MAXW = 32 };

/* y (d_out) and J (d_out x d_in) of one sample x under theta. */
static void plain_net(const sj_net *net, const double *theta, const double *x, double *y, double *J)
{
    const int d_in = net->sizes[0];
    double a[MAXW], da[MAXW][MAXW], z[MAXW], dz[MAXW][MAXW];
    for (int i = 0; i < d_in; ++i) {
        a[i] = x[i];
        for (int j = 0; j < d_in; ++j) da[i][j] = i == j;
    }
    const double *W = theta;
    for (int l = 0; l < net->n_layers; ++l) {
        const int in = net->sizes[l], out = net->sizes[l + 1];
        const double *b = W + (size_t)out * in;
        for (int o = 0; o < out; ++o) {
            z[o] = b[o];
            for (int j = 0; j < d_in; ++j) dz[o][j] = 0.0;
            for (int i = 0; i < in; ++i) {
                z[o] += W[o * in + i] * a[i];
                for (int j = 0; j < d_in; ++j) dz[o][j] += W[o * in + i] * da[i][j];
            }
        }
        for (int o = 0; o < out; ++o) {
            double d;
            a[o] = act(net->activations[l], z[o], &d);
            for (int j = 0; j < d_in; ++j) da[o][j] = d * dz[o][j];
        }
        W = b + out;
    }
    const int d_out = net->sizes[net->n_layers];
    for (int k = 0; k < d_out; ++k) {
        y[k] = a[k];
        for (int j = 0; j < d_in; ++j) J[k * d_in + j] = da[k][j];
    }
}

/* ----- data in block layout (see sj_data in sj_kernels.h) ----- */

typedef struct {
    int64_t n, n_blocks;
    int d_in, d_out;
    double *x;                         /* (n, d_in) row-major, for the plain loop */
    double *y, *ym, *g, *gm;           /* targets and mask weights per sample: (n, d_out), (n, d_out, d_in) */
    double *X, *Y, *YM, *G, *GM;       /* block layout, double */
    float *Xf, *Yf, *YMf, *Gf, *GMf;   /* the same in float */
    int32_t *dirs, *ndirs;
} dataset;

static double urand(unsigned *state, double lo, double hi)
{
    *state = *state * 1664525u + 1013904223u;
    return lo + (hi - lo) * ((*state >> 8) / 16777216.0);
}

/* Random samples and targets; block 0 observes every input direction, block 1 only direction d_in - 1,
 * later blocks none, so the fused fitness sees full, partial and value-only blocks. */
static dataset make_data(int64_t n, int d_in, int d_out, unsigned seed)
{
    dataset D;
    memset(&D, 0, sizeof D);
    D.n = n; D.d_in = d_in; D.d_out = d_out;
    D.n_blocks = (n + SJ_BLOCK - 1) / SJ_BLOCK;
    const size_t nb = (size_t)D.n_blocks, B = SJ_BLOCK;
    D.x = calloc((size_t)n * d_in, sizeof(double));
    D.y = calloc((size_t)n * d_out, sizeof(double));
    D.ym = calloc((size_t)n * d_out, sizeof(double));
    D.g = calloc((size_t)n * d_out * d_in, sizeof(double));
    D.gm = calloc((size_t)n * d_out * d_in, sizeof(double));
    D.X = calloc(nb * d_in * B, sizeof(double));
    D.Y = calloc(nb * d_out * B, sizeof(double));
    D.YM = calloc(nb * d_out * B, sizeof(double));
    D.G = calloc(nb * d_in * d_out * B, sizeof(double));
    D.GM = calloc(nb * d_in * d_out * B, sizeof(double));
    D.dirs = calloc(nb * d_in, sizeof(int32_t));
    D.ndirs = calloc(nb, sizeof(int32_t));
    for (size_t b = 0; b < nb; ++b) {
        if (b == 0) {
            D.ndirs[b] = d_in;
            for (int j = 0; j < d_in; ++j) D.dirs[b * d_in + j] = j;
        } else if (b == 1) {
            D.ndirs[b] = 1;
            D.dirs[b * d_in] = d_in - 1;
        }
    }
    for (int64_t s = 0; s < n; ++s) {
        const size_t b = (size_t)s / B, lane = (size_t)s % B;
        for (int j = 0; j < d_in; ++j) {
            D.x[s * d_in + j] = urand(&seed, -1.5, 1.5);
            D.X[(b * d_in + j) * B + lane] = D.x[s * d_in + j];
        }
        for (int k = 0; k < d_out; ++k) {
            const double w = urand(&seed, 0, 1) < 0.2 ? 0.0 : urand(&seed, 0.5, 2.0);
            D.y[s * d_out + k] = urand(&seed, -1, 1);
            D.ym[s * d_out + k] = w;
            D.Y[(b * d_out + k) * B + lane] = D.y[s * d_out + k];
            D.YM[(b * d_out + k) * B + lane] = w;
        }
        for (int t = 0; t < D.ndirs[b]; ++t) {
            const int j = D.dirs[b * d_in + t];
            for (int k = 0; k < d_out; ++k) {
                const double w = urand(&seed, 0, 1) < 0.3 ? 0.0 : 1.0;
                const size_t at = ((size_t)s * d_out + k) * d_in + j, blk = ((b * d_in + j) * d_out + k) * B + lane;
                D.g[at] = urand(&seed, -1, 1);
                D.gm[at] = w;
                D.G[blk] = D.g[at];
                D.GM[blk] = w;
            }
        }
    }
    D.Xf = malloc(nb * d_in * B * sizeof(float));
    D.Yf = malloc(nb * d_out * B * sizeof(float));
    D.YMf = malloc(nb * d_out * B * sizeof(float));
    D.Gf = malloc(nb * d_in * d_out * B * sizeof(float));
    D.GMf = malloc(nb * d_in * d_out * B * sizeof(float));
    for (size_t i = 0; i < nb * d_in * B; ++i) D.Xf[i] = (float)D.X[i];
    for (size_t i = 0; i < nb * d_out * B; ++i) { D.Yf[i] = (float)D.Y[i]; D.YMf[i] = (float)D.YM[i]; }
    for (size_t i = 0; i < nb * d_in * d_out * B; ++i) { D.Gf[i] = (float)D.G[i]; D.GMf[i] = (float)D.GM[i]; }
    return D;
}

static void free_data(dataset *D)
{
    void *all[] = {D->x, D->y, D->ym, D->g, D->gm, D->X, D->Y, D->YM, D->G, D->GM,
                   D->Xf, D->Yf, D->YMf, D->Gf, D->GMf, D->dirs, D->ndirs};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) free(all[i]);
}

static sj_data data_view(const dataset *D, int f32, double vs, double ds)
{
    sj_data v;
    v.n_blocks = D->n_blocks;
    v.X = f32 ? (const void *)D->Xf : (const void *)D->X;
    v.y = f32 ? (const void *)D->Yf : (const void *)D->Y;
    v.y_mask = f32 ? (const void *)D->YMf : (const void *)D->YM;
    v.dydx = f32 ? (const void *)D->Gf : (const void *)D->G;
    v.dydx_mask = f32 ? (const void *)D->GMf : (const void *)D->GM;
    v.block_dirs = D->dirs;
    v.block_n_dirs = D->ndirs;
    v.value_scale = vs;
    v.derivative_scale = ds;
    return v;
}

/* The fitness by a plain loop over samples, from plain_net. */
static double plain_fitness(const sj_net *net, const double *theta, const dataset *D, double vs, double ds)
{
    double sv = 0.0, sd = 0.0, y[MAXW], J[MAXW * MAXW];
    for (int64_t s = 0; s < D->n; ++s) {
        plain_net(net, theta, D->x + s * D->d_in, y, J);
        for (int k = 0; k < D->d_out; ++k) {
            const double e = y[k] - D->y[s * D->d_out + k];
            sv += D->ym[s * D->d_out + k] * e * e;
            for (int j = 0; j < D->d_in; ++j) {
                const size_t at = ((size_t)s * D->d_out + k) * D->d_in + j;
                const double f = J[k * D->d_in + j] - D->g[at];
                sd += D->gm[at] * f * f;
            }
        }
    }
    return vs * sv + ds * sd;
}

/* ----- the checks ----- */

static void check_worked_example(void)
{
    const int32_t sizes[] = {2, 2, 1}, acts[] = {SJ_SIGMOID, SJ_LINEAR};
    const sj_net net = {2, sizes, acts, 9};
    const double theta[9] = {1, 1, 1, 1, 1, 1, 1, 1, 0}, want[2] = {0.0903533, 0.0903533};
    double X[2 * SJ_BLOCK] = {0}, Y[1], J[2];
    float Xf[2 * SJ_BLOCK] = {0}, thetaf[9], Yf[1], Jf[2];
    X[0] = X[SJ_BLOCK] = 1.0;
    Xf[0] = Xf[SJ_BLOCK] = 1.0f;
    for (int i = 0; i < 9; ++i) thetaf[i] = (float)theta[i];
    for (int mode = SJ_MODE_FORWARD; mode <= SJ_MODE_REVERSE; ++mode) {
        if (sj_value_and_jacobian_f64(&net, theta, 1, X, 1, Y, J, mode, 1) != SJ_OK) ++n_fail;
        check("worked example f64", J, want, 2, 0, 5e-8);
        if (sj_value_and_jacobian_f32(&net, thetaf, 1, Xf, 1, Yf, Jf, mode, 1) != SJ_OK) ++n_fail;
        const double Jd[2] = {Jf[0], Jf[1]};
        check("worked example f32", Jd, want, 2, 0, 5e-7);
    }
}

/* value_and_jacobian (both dtypes, both modes) against the plain network and against central finite
 * differences of predict; fitness (three modes) against the plain loop; fitness_and_gradient against
 * central finite differences of the float64 fitness. */
static void check_network(const int32_t *sizes, int n_layers, const int32_t *acts, const char *name)
{
    int64_t n_params = 0;
    for (int l = 0; l < n_layers; ++l) n_params += (int64_t)sizes[l + 1] * sizes[l] + sizes[l + 1];
    const sj_net net = {n_layers, sizes, acts, n_params};
    const int d_in = sizes[0], d_out = sizes[n_layers];
    const int64_t n = 100; /* two blocks, the second padded */
    dataset D = make_data(n, d_in, d_out, 12345u + (unsigned)n_params);
    const size_t P = (size_t)n_params;
    double *theta = malloc(P * sizeof(double)), *tp = malloc(P * sizeof(double));
    float *thetaf = malloc(P * sizeof(float));
    unsigned seed = 99u + (unsigned)n_params;
    for (size_t i = 0; i < P; ++i) {
        theta[i] = urand(&seed, -1, 1);
        thetaf[i] = (float)theta[i];
        theta[i] = thetaf[i]; /* both dtypes see the same parameters */
    }
    const size_t nY = (size_t)n * d_out, nJ = nY * d_in;
    double *Y = malloc(nY * sizeof(double)), *J = malloc(nJ * sizeof(double));
    double *Yr = malloc(nY * sizeof(double)), *Jr = malloc(nJ * sizeof(double)), *Jfd = malloc(nJ * sizeof(double));
    double *Yp = malloc(nY * sizeof(double)), *Ym = malloc(nY * sizeof(double)), *tmp = malloc(nJ * sizeof(double));
    float *Yf = malloc(nY * sizeof(float)), *Jf = malloc(nJ * sizeof(float));
    char what[160];
    for (int64_t s = 0; s < n; ++s) plain_net(&net, theta, D.x + s * d_in, Yr + s * d_out, Jr + s * d_out * d_in);
    /* central differences of predict in X (step h on input j of every sample at once: samples are independent) */
    const double h = 1e-6;
    double *Xs = malloc((size_t)D.n_blocks * d_in * SJ_BLOCK * sizeof(double));
    for (int j = 0; j < d_in; ++j) {
        memcpy(Xs, D.X, (size_t)D.n_blocks * d_in * SJ_BLOCK * sizeof(double));
        for (int64_t s = 0; s < n; ++s) Xs[((size_t)(s / SJ_BLOCK) * d_in + j) * SJ_BLOCK + s % SJ_BLOCK] += h;
        if (sj_predict_f64(&net, theta, 1, Xs, n, Yp, 1) != SJ_OK) ++n_fail;
        for (int64_t s = 0; s < n; ++s) Xs[((size_t)(s / SJ_BLOCK) * d_in + j) * SJ_BLOCK + s % SJ_BLOCK] -= 2 * h;
        if (sj_predict_f64(&net, theta, 1, Xs, n, Ym, 1) != SJ_OK) ++n_fail;
        for (size_t i = 0; i < nY; ++i) Jfd[i * d_in + j] = (Yp[i] - Ym[i]) / (2 * h);
    }
    free(Xs);
    for (int mode = SJ_MODE_FORWARD; mode <= SJ_MODE_REVERSE; ++mode) {
        const char *mname = mode == SJ_MODE_FORWARD ? "forward" : "reverse";
        if (sj_value_and_jacobian_f64(&net, theta, 1, D.X, n, Y, J, mode, 1) != SJ_OK) ++n_fail;
        snprintf(what, sizeof what, "%s f64 %s: value vs plain loop", name, mname);
        check(what, Y, Yr, nY, 1e-13, 1e-13);
        snprintf(what, sizeof what, "%s f64 %s: jacobian vs plain loop", name, mname);
        check(what, J, Jr, nJ, 1e-12, 1e-12);
        snprintf(what, sizeof what, "%s f64 %s: jacobian vs finite differences of predict", name, mname);
        check(what, J, Jfd, nJ, 1e-6, 1e-7);
        if (sj_value_and_jacobian_f32(&net, thetaf, 1, D.Xf, n, Yf, Jf, mode, 1) != SJ_OK) ++n_fail;
        for (size_t i = 0; i < nY; ++i) Y[i] = Yf[i];
        for (size_t i = 0; i < nJ; ++i) J[i] = Jf[i];
        snprintf(what, sizeof what, "%s f32 %s: value vs plain loop", name, mname);
        check(what, Y, Yr, nY, 1e-5, 1e-5);
        snprintf(what, sizeof what, "%s f32 %s: jacobian vs finite differences of predict", name, mname);
        check(what, J, Jfd, nJ, 1e-4, 1e-4);
    }
    /* fitness and its gradient */
    const double vs = 1.0 / (double)n, ds = 0.5 / (double)n;
    const double f_ref = plain_fitness(&net, theta, &D, vs, ds);
    const sj_data d64 = data_view(&D, 0, vs, ds), d32 = data_view(&D, 1, vs, ds);
    double *grad = malloc(P * sizeof(double)), *gfd = malloc(P * sizeof(double));
    float *gradf = malloc(P * sizeof(float));
    /* finite differences of the float64 fitness (forward mode; the modes agree to rounding) */
    for (size_t i = 0; i < P; ++i) {
        double fp, fm;
        const double step = 1e-5;
        memcpy(tp, theta, P * sizeof(double));
        tp[i] += step;
        if (sj_fitness_f64(&net, tp, 1, &d64, &fp, SJ_MODE_FORWARD, 1) != SJ_OK) ++n_fail;
        tp[i] -= 2 * step;
        if (sj_fitness_f64(&net, tp, 1, &d64, &fm, SJ_MODE_FORWARD, 1) != SJ_OK) ++n_fail;
        gfd[i] = (fp - fm) / (2 * step);
    }
    double gscale = 0.0;
    for (size_t i = 0; i < P; ++i) gscale = fabs(gfd[i]) > gscale ? fabs(gfd[i]) : gscale;
    for (int mode = SJ_MODE_FORWARD; mode <= SJ_MODE_AUTO; ++mode) {
        const char *mname = mode == SJ_MODE_FORWARD ? "forward" : mode == SJ_MODE_REVERSE ? "reverse" : "auto";
        double f, fg;
        float ff, fgf;
        if (sj_fitness_f64(&net, theta, 1, &d64, &f, mode, 1) != SJ_OK) ++n_fail;
        snprintf(what, sizeof what, "%s f64 %s: fitness vs plain loop", name, mname);
        check(what, &f, &f_ref, 1, 1e-12, 0);
        if (sj_fitness_f32(&net, thetaf, 1, &d32, &ff, mode, 1) != SJ_OK) ++n_fail;
        const double ffd = ff;
        snprintf(what, sizeof what, "%s f32 %s: fitness vs plain loop", name, mname);
        check(what, &ffd, &f_ref, 1, 1e-4, 0);
        if (sj_fitness_and_gradient_f64(&net, theta, 1, &d64, &fg, grad, mode, 1) != SJ_OK) ++n_fail;
        snprintf(what, sizeof what, "%s f64 %s: fitness_and_gradient's fitness", name, mname);
        check(what, &fg, &f, 1, 0, 0); /* the same fitness, bit for bit */
        snprintf(what, sizeof what, "%s f64 %s: gradient vs finite differences of fitness", name, mname);
        check(what, grad, gfd, P, 1e-5, 1e-7 * gscale);
        if (sj_fitness_and_gradient_f32(&net, thetaf, 1, &d32, &fgf, gradf, mode, 1) != SJ_OK) ++n_fail;
        for (size_t i = 0; i < P; ++i) tmp[i] = gradf[i];
        snprintf(what, sizeof what, "%s f32 %s: gradient vs finite differences of fitness", name, mname);
        check(what, tmp, gfd, P, 2e-3, 2e-4 * gscale);
    }
    /* two threads give the bits of one (a no-op check without OpenMP) */
    double g2[2];
    double *params2 = malloc(2 * P * sizeof(double)), *grad2 = malloc(2 * P * sizeof(double));
    memcpy(params2, theta, P * sizeof(double));
    memcpy(params2 + P, theta, P * sizeof(double));
    if (sj_fitness_and_gradient_f64(&net, params2, 2, &d64, g2, grad2, SJ_MODE_AUTO, 2) != SJ_OK) ++n_fail;
    if (sj_fitness_and_gradient_f64(&net, theta, 1, &d64, tmp, grad, SJ_MODE_AUTO, 1) != SJ_OK) ++n_fail;
    snprintf(what, sizeof what, "%s f64: two threads give one thread's bits", name);
    check(what, grad2 + P, grad, P, 0, 0);
    free(params2); free(grad2);
    free(grad); free(gfd); free(gradf);
    free(theta); free(tp); free(thetaf); free(Y); free(J); free(Yr); free(Jr); free(Jfd); free(Yp); free(Ym);
    free(tmp); free(Yf); free(Jf);
    free_data(&D);
}

int main(int argc, char **argv)
{
    const char *label = argc > 1 ? argv[1] : "check";
    if (argc > 2) {
        if (strcmp(sj_isa(), argv[2]) == 0) {
            ++n_pass;
        } else {
            ++n_fail;
            printf("FAIL isa: got %s want %s\n", sj_isa(), argv[2]);
        }
    }
    check_worked_example();
    /* widths 9 and 13 split into every weight chunk (8/4 + 4, 2, 1) of every tile size */
    static const int32_t s1[] = {3, 9, 13, 2}, s2[] = {2, 13, 1}, s3[] = {4, 5, 3}, s4[] = {1, 9, 2};
    static const int32_t a_tanh[] = {SJ_TANH, SJ_SIGMOID, SJ_LINEAR}, a_soft[] = {SJ_SOFTPLUS, SJ_LINEAR};
    static const int32_t a_gelu[] = {SJ_GELU, SJ_SIGMOID}, a_sin[] = {SJ_SIN, SJ_TANH};
    check_network(s1, 3, a_tanh, "[3,9,13,2] tanh,sigmoid,linear");
    check_network(s2, 2, a_soft, "[2,13,1] softplus,linear");
    check_network(s3, 2, a_gelu, "[4,5,3] gelu,sigmoid");
    check_network(s4, 2, a_sin, "[1,9,2] sin,tanh");
    printf("%s (isa %s, openmp %d): %d passed, %d failed\n", label, sj_isa(), sj_openmp_enabled(), n_pass, n_fail);
    return n_fail == 0 ? 0 : 1;
}
