/* swarmjac activations, templated on REAL: included by sj_particle_impl.h once per (element type, ISA
 * level) (so, deliberately, no include guard).  Each loop computes a = f(z) and d = f'(z) for n lanes with
 * select-style branches only, so it vectorises once the sj_fastmath.h functions do.
 * The formulas match swarmjac/activations.py (the reference); keep them in step.
 * Stability: sigmoid and softplus only ever evaluate exp(-|z|) (no overflow for any finite z);
 * gelu clamps z before cubing it, which is exact because tanh(u) is already +-1 beyond |z| = 20. */

#define SJ_GELU_K0 ((REAL)0.7978845608028654) /* sqrt(2 / pi) */
#define SJ_GELU_K1 ((REAL)0.044715)
#define SJ_LEAKY_SLOPE ((REAL)0.01)

/* gelu's tanh(K0 (x + K1 x^3)) at x clamped to [-20, 20] (stored in *xc), shared by f' and f''. */
SJ_INLINE REAL FN(gelu_tanh)(REAL x, REAL *xc)
{
    const REAL c = x > (REAL)20 ? (REAL)20 : (x < (REAL)-20 ? (REAL)-20 : x);
    *xc = c;
    return MATH(tanh)(SJ_GELU_K0 * (c + SJ_GELU_K1 * c * c * c));
}

SJ_INLINE void FN(activation_block)(int code, const REAL *restrict z, REAL *a, REAL *restrict d, int n)
{
    /* a may alias z (in-place activation of a layer buffer): every lane reads z[s] before writing a[s]. */
    switch (code) {
    case SJ_SIGMOID:
        for (int s = 0; s < n; ++s) {
            const REAL x = z[s];
            const REAL e = MATH(exp_neg)(-MATH(fabs)(x));
            const REAL r = (REAL)1 / ((REAL)1 + e);
            const REAL sig = x >= 0 ? r : e * r;
            a[s] = sig;
            d[s] = sig * ((REAL)1 - sig);
        }
        break;
    case SJ_TANH:
        for (int s = 0; s < n; ++s) {
            const REAL t = MATH(tanh)(z[s]);
            a[s] = t;
            d[s] = (REAL)1 - t * t;
        }
        break;
    case SJ_RELU:
        for (int s = 0; s < n; ++s) {
            const REAL x = z[s];
            a[s] = x > 0 ? x : (REAL)0;
            d[s] = x > 0 ? (REAL)1 : (REAL)0;
        }
        break;
    case SJ_LEAKY_RELU:
        for (int s = 0; s < n; ++s) {
            const REAL x = z[s];
            a[s] = x > 0 ? x : SJ_LEAKY_SLOPE * x;
            d[s] = x > 0 ? (REAL)1 : SJ_LEAKY_SLOPE;
        }
        break;
    case SJ_SOFTPLUS:
        for (int s = 0; s < n; ++s) {
            const REAL x = z[s];
            const REAL e = MATH(exp_neg)(-MATH(fabs)(x));
            const REAL r = (REAL)1 / ((REAL)1 + e);
            a[s] = (x > 0 ? x : (REAL)0) + MATH(log1p)(e);
            d[s] = x >= 0 ? r : e * r;
        }
        break;
    case SJ_ELU:
        for (int s = 0; s < n; ++s) {
            const REAL x = z[s];
            /* x > 0 ? 0 : x, not x < 0 ? x : 0, so that a NaN z gives NaN (as the reference does), not 0. */
            const REAL em1 = MATH(expm1)(x > 0 ? (REAL)0 : x);
            a[s] = x > 0 ? x : em1;
            d[s] = x > 0 ? (REAL)1 : em1 + (REAL)1;
        }
        break;
    case SJ_SIN:
        for (int s = 0; s < n; ++s) {
            const REAL x = z[s];
            const REAL c = MATH(cos)(x);
            a[s] = MATH(sin)(x);
            d[s] = c;
        }
        break;
    case SJ_GELU:
        for (int s = 0; s < n; ++s) {
            const REAL x = z[s];
            REAL xc;
            const REAL t = FN(gelu_tanh)(x, &xc);
            a[s] = (REAL)0.5 * x * ((REAL)1 + t);
            d[s] = (REAL)0.5 * ((REAL)1 + t)
                 + (REAL)0.5 * xc * ((REAL)1 - t * t) * SJ_GELU_K0 * ((REAL)1 + (REAL)3 * SJ_GELU_K1 * xc * xc);
        }
        break;
    default: /* SJ_LINEAR */
        for (int s = 0; s < n; ++s) {
            a[s] = z[s];
            d[s] = 1;
        }
        break;
    }
}

/* SJ_GELU_K0, SJ_GELU_K1 and SJ_LEAKY_SLOPE stay defined for sj_gradient_impl.h; sj_particle_impl.h
 * undefines them at its end. */
