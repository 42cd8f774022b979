/* swarmjac elementary functions used by the activations (sj_activations.h).
 * Branch-free (select-only), table-free and libm-free in the hot paths, so gcc's auto-vectoriser turns the
 * activation loops into SIMD code; accurate to about 1 ulp over the whole range, with IEEE special cases. */
#ifndef SJ_FASTMATH_H
#define SJ_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Everything here is force-inlined: a call left in a loop would stop its vectorisation. */
#if defined(__GNUC__)
#define SJ_FM_INLINE static inline __attribute__((always_inline))
#else
#define SJ_FM_INLINE static inline
#endif

/* Conventions.  Type punning goes through memcpy (free once inlined).  Integers are never converted
 * to floating point with cvt instructions (AVX2 has no 64-bit ones): an integer-valued double k with
 * |k| < 2^51 is rounded and read back with the "shifter" 1.5 * 2^52 (k + shifter holds k in its low
 * mantissa bits), and small unsigned integers e become doubles via asdouble(e | bits(2^52)) - 2^52.
 * No fused multiply-add is required.  Under -ffp-contract=fast the FMA-capable clones fuse some a*b+c;
 * every product that feeds an error-free step (Cody-Waite, two-sums, scaling) is exact, so fusing
 * changes nothing there and elsewhere only removes a rounding: results may then differ from the
 * baseline clone in the last bit, with the same error bounds.
 * Polynomial coefficients are weighted minimax (Remez) fits computed with mpmath at 60 digits, then
 * rounded to the working precision (floats: rounded one by one, refitting the rest); each comment gives
 * the fitted function, interval and the resulting approximation error. */

SJ_FM_INLINE uint64_t sj_fm_bits_d(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
SJ_FM_INLINE double sj_fm_from_bits_d(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }
SJ_FM_INLINE uint32_t sj_fm_bits_f(float x) { uint32_t u; memcpy(&u, &x, sizeof u); return u; }
SJ_FM_INLINE float sj_fm_from_bits_f(uint32_t u) { float x; memcpy(&x, &u, sizeof x); return x; }

#define SJ_FM_SHIFT_D 0x1.8p52   /* round-to-integer shifter, double */
#define SJ_FM_SHIFT_F 0x1.8p23f  /* same for float */
/* ln2 split for Cody-Waite: hi has 42 significant bits (k * hi exact for |k| < 2^11), lo = ln2 - hi. */
#define SJ_FM_LN2HI_D 0x1.62e42fefa3800p-1
#define SJ_FM_LN2LO_D 0x1.ef35793c76730p-45
#define SJ_FM_INVLN2_D 0x1.71547652b82fep+0
/* float: hi has 16 significant bits (k * hi exact for |k| < 2^8). */
#define SJ_FM_LN2HI_F 0x1.62e4p-1f
#define SJ_FM_LN2LO_F 0x1.7f7d1cp-20f
#define SJ_FM_INVLN2_F 0x1.715476p+0f

/* fabs / copysign are bit operations that compilers always expand inline (never a libm call). */
SJ_FM_INLINE double sj_fabs_d(double x) { return fabs(x); }
SJ_FM_INLINE float sj_fabs_f(float x) { return fabsf(x); }

/* ---------------------------------------------------------------------------------------------------
 * exp / expm1 core: x = k ln2 + r, |r| <= ln2/2, k = rint(x / ln2); r is kept as r + c (c = rounding
 * error of hi - lo, exact), and e^(r+c) - 1 = r + t with t = r^2 q(r) + c (1 + r), where
 * q(r) ~ (e^r - 1 - r) / r^2 is a degree-10 minimax polynomial on |r| <= ln2/2 (relative error of
 * r + r^2 q below 2^-59).  kd is k + shifter (its low bits hold k). */
typedef struct { double r, t, kd; } sj_fm_expred_d;

/* q(r), the degree-10 polynomial above, by Estrin's scheme: shorter dependency chains than Horner, same
 * accuracy here (|r| <= 0.35). */
SJ_FM_INLINE double sj_fm_exp_poly_d(double r)
{
    const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    const double p01 = 0x1.0000000000000p-1 + 0x1.5555555555558p-3 * r;
    const double p23 = 0x1.555555555555ap-5 + 0x1.111111110f96ap-7 * r;
    const double p45 = 0x1.6c16c16c1483bp-10 + 0x1.a01a01aee6d8ap-13 * r;
    const double p67 = 0x1.a01a01afb86eap-16 + 0x1.71ddfaa88bcbbp-19 * r;
    const double p8a = (0x1.27e4c7723f962p-22 + 0x1.af5aeb10116dfp-26 * r) + 0x1.1f92ec39be3d3p-29 * r2;
    return (p01 + p23 * r2) + (p45 + p67 * r2) * r4 + p8a * r8;
}

SJ_FM_INLINE sj_fm_expred_d sj_fm_exp_reduce_d(double x)
{
    sj_fm_expred_d o;
    o.kd = x * SJ_FM_INVLN2_D + SJ_FM_SHIFT_D;
    const double k = o.kd - SJ_FM_SHIFT_D;
    const double hi = x - k * SJ_FM_LN2HI_D; /* exact (Sterbenz for k != 0) */
    const double lo = k * SJ_FM_LN2LO_D;
    const double r = hi - lo;
    const double c = (hi - r) - lo;
    o.r = r;
    o.t = (r * r) * sj_fm_exp_poly_d(r) + (c + c * r);
    return o;
}

/* exp(x) for x <= 0, the only sign the activations need (sigmoid and softplus take exp(-|z|)):
 * 2^k (1 + r + r^2 q(r)), x clamped to -746 first (exp is 0 below; this also bounds k), NaN passes through.
 * 2^k is applied in two exact steps, 2^(k+60) then 2^-60, so the first factor stays normal and results that
 * are subnormal are rounded once, by the last multiply.  The compensation c of the reduction is left out:
 * it moves the result by below 2^-55 relative (|c| <= ulp(r) / 2, |r| <= 0.35). */
SJ_FM_INLINE double sj_exp_neg_d(double x)
{
    const double xc = x < -746.0 ? -746.0 : x;
    const double kd = xc * SJ_FM_INVLN2_D + SJ_FM_SHIFT_D;
    const double k = kd - SJ_FM_SHIFT_D;
    const double r = (xc - k * SJ_FM_LN2HI_D) - k * SJ_FM_LN2LO_D;
    const double p = 1.0 + (r + (r * r) * sj_fm_exp_poly_d(r));
    /* 2^(k + 60) is normal for every k in [-1077, 0]; the exact 2^-60 step then rounds subnormals once. */
    const double s1 = sj_fm_from_bits_d((sj_fm_bits_d(kd + 60.0) + 1023) << 52);
    return (p * s1) * 0x1p-60;
}

/* expm1(x) = 2^k (1 + r + t) - 1 = 2 ((s - 1/2) + s r + s t) with s = 2^(k-1) (the final doubling is
 * exact and lets k = 1024 reach DBL_MAX without overflowing s).  (s - 1/2) + s r is summed with its
 * exact rounding error (fast two-sum: |s - 1/2| >= |s r| for k != 0, and exact for k = 0), so the only
 * significant rounding is the last addition.  Clamp to [-40, 710]: below -40 the result is -1 to double
 * precision; s stays normal for all k. */
SJ_FM_INLINE double sj_fm_expm1_core_d(double xc)
{
    const sj_fm_expred_d e = sj_fm_exp_reduce_d(xc);
    const double s = sj_fm_from_bits_d((sj_fm_bits_d(e.kd) + 1022) << 52);
    const double a = s - 0.5, b = s * e.r;
    const double h = a + b;
    const double l = (a - h) + b;
    return 2.0 * (h + (l + s * e.t));
}

SJ_FM_INLINE double sj_expm1_d(double x)
{
    double xc = x > 710.0 ? 710.0 : x;
    xc = xc < -40.0 ? -40.0 : xc;
    const double y = sj_fm_expm1_core_d(xc);
    return sj_fabs_d(x) < 0x1p-54 ? x : y; /* expm1(x) = x there; keeps -0 and subnormals exact */
}

/* ---------------------------------------------------------------------------------------------------
 * log1p(x): u = 1 + x rounded, c = exact rounding error of that sum (so that 1 + x = u + c), then
 * u = 2^e m with m in [sqrt(2)/2, sqrt(2)), f = m - 1 (exact), and
 *     log1p(x) = e ln2 + log(1 + f) + c / u,   c / u = c 2^-e / m ~ c 2^-e (1 - f + f^2)
 * (that truncation costs < 0.12 ulp and saves a division).  log(1 + f) = 2 atanh(s), s = f / (2 + f),
 * evaluated as f - (hf - s (hf + R)) with hf = f^2/2 and R(z) = z P(z) ~ sum_n 2 z^n / (2n + 1), z = s^2:
 * P is a degree-6 minimax polynomial on z in [0, 0.0295] (|s| <= 3 - 2 sqrt(2)), absolute error of R
 * below 2^-57.  e and m come from the bits of u: adding 0x3ff0.. - bits(sqrt(2)/2) carries into the
 * exponent field exactly when m would leave [sqrt(2)/2, sqrt(2)). */
SJ_FM_INLINE double sj_log1p_d(double x)
{
    const double u = 1.0 + x;
    const double c = u >= 2.0 ? 1.0 - (u - x) : x - (u - 1.0);
    const uint64_t ti = sj_fm_bits_d(u) + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
    const uint64_t eb = ti >> 52;                     /* e + 1023, in [970, 2047] for x > -1 */
    const double ed = sj_fm_from_bits_d(eb | 0x4330000000000000ULL) - (0x1p52 + 1023.0);
    const double m = sj_fm_from_bits_d((ti & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL);
    const double inv2e = sj_fm_from_bits_d((2046 - eb) << 52); /* 2^-e (0 for e = 1023, junk for 1024) */
    const double f = m - 1.0;
    const double hf = 0.5 * f * f;
    const double s = f / (2.0 + f);
    const double z = s * s, z2 = z * z, z4 = z2 * z2;
    const double P = ((0x1.5555555555566p-1 + 0x1.999999998c7bdp-2 * z) + (0x1.24924937f355ep-2 + 0x1.c71c5974eef0dp-3 * z) * z2)
                   + ((0x1.7464d577fcbd0p-3 + 0x1.39c3e0de8bc7ap-3 * z) + 0x1.2dc0388a94490p-3 * z2) * z4;
    const double R = z * P;
    double corr = (c * inv2e) * ((1.0 - f) + 2.0 * hf);
    corr = u < 0x1p1000 ? corr : 0.0;                 /* c / u is negligible there (and inv2e junk) */
    double y = ed * SJ_FM_LN2HI_D + (f - (hf - (s * (hf + R) + (ed * SJ_FM_LN2LO_D + corr))));
    y = sj_fabs_d(x) < 0x1p-54 ? x : y;               /* log1p(x) = x: keeps -0 and subnormals exact */
    y = x > -1.0 ? y : (x == -1.0 ? -HUGE_VAL : (double)NAN);
    return x < HUGE_VAL ? y : x;                      /* +inf and NaN map to themselves */
}

/* exp(x) for 0 <= x <= 44 only (tanh's large branch): no clamps, one exact scaling by 2^k (k <= 64), and
 * no compensation c of the reduction: it changes e^x by below 2^-55 relative, and tanh's 2 / (e^x + 1)
 * term halves that again. */
SJ_FM_INLINE double sj_fm_exp_tanh_d(double x)
{
    const double kd = x * SJ_FM_INVLN2_D + SJ_FM_SHIFT_D;
    const double k = kd - SJ_FM_SHIFT_D;
    const double r = (x - k * SJ_FM_LN2HI_D) - k * SJ_FM_LN2LO_D;
    const double p = 1.0 + (r + (r * r) * sj_fm_exp_poly_d(r));
    return p * sj_fm_from_bits_d((sj_fm_bits_d(kd) + 1023) << 52);
}

/* ---------------------------------------------------------------------------------------------------
 * tanh(x) = sign(x) tanh(a), a = |x| clamped to 22 (tanh = 1 to double precision beyond).
 * a >= 0.55: tanh a = 1 - 2 / (e^(2a) + 1); the result is >= 1/2, so the subtracted term's errors
 * are damped.  a < 0.55: odd polynomial a + a z T(z), z = a^2, T a degree-10 minimax fit of
 * (tanh a - a) / (a z) on [0, 0.55] (relative error 2^-59); the formula em / (em + 2) would cost
 * ~2.5 ulp there (the rounding of em + 2 alone is up to 1 ulp of the result). */
SJ_FM_INLINE double sj_tanh_d(double x)
{
    double a = sj_fabs_d(x);
    a = a > 22.0 ? 22.0 : a;
    const double big = 1.0 - 2.0 / (sj_fm_exp_tanh_d(2.0 * a) + 1.0);
    const double z = a * a, z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    const double T = ((-0x1.5555555555554p-2 + 0x1.1111111110d13p-3 * z) + (-0x1.ba1ba1b9c2b40p-5 + 0x1.664f48674a873p-6 * z) * z2)
                   + ((-0x1.226e30b23c8a6p-7 + 0x1.d6d2d7ea8672bp-9 * z) + (-0x1.7d92a8cb6bbdap-10 + 0x1.34999d53232abp-11 * z) * z2) * z4
                   + ((-0x1.ea43390fdc7a1p-13 + 0x1.5fb5a9bb71404p-14 * z) + -0x1.4c65031a443b9p-16 * z2) * z8;
    const double small = a + (a * z) * T;
    const double t = a < 0.55 ? small : big;
    return copysign(t, x);
}

/* ---------------------------------------------------------------------------------------------------
 * sin / cos.  |x| <= 2^20: x = j pi/2 + r with j = rint(x 2/pi) (|j| < 2^20) and a 4-part Cody-Waite
 * split of pi/2 (three 33-bit parts, so j * part is exact, plus a 53-bit tail: 152 bits in all), the
 * subtractions done with exact two-sums so that r = rh + rl keeps ~100 significant bits even for x
 * next to a multiple of pi/2 (where r is tiny and sin or cos needs it to full relative precision).
 * Then on |r| <= pi/4
 *     sin r = rh + (rh z S(z) + rl (1 - z/2)),  cos r = 1 - z/2 + z^2 C(z) - rh rl,   z = rh^2,
 * with S, C degree-5 minimax polynomials (relative errors 2^-56.7 and 2^-61.6), 1 - z/2 compensated.
 * Quadrant j mod 4 selects +-sin r / +-cos r.
 * |x| > 2^20 would need many more bits of pi (Payne-Hanek, i.e. a table indexed per lane: gathers, which
 * gcc's generic tuning does not vectorise).  Those lanes are the input of sj_fm_sin_big_d /
 * sj_fm_cos_big_d, which return libm's (correctly reduced) value there and -0.0 elsewhere; with gcc
 * they are SIMD-clone functions, called once per vector of lanes and only calling libm for the rare
 * big lanes, so the loop still vectorises.  Other compilers get a plain call (correct, not vectorised). */
#define SJ_FM_TRIG_BIG 0x1p20

typedef struct { double rh, rl; uint64_t q; } sj_fm_trigred_d;

SJ_FM_INLINE sj_fm_trigred_d sj_fm_trig_reduce_d(double x)
{
    sj_fm_trigred_d o;
    const double xr = sj_fabs_d(x) <= SJ_FM_TRIG_BIG ? x : 0.0;
    const double jd = xr * 0x1.45f306dc9c883p-1 + SJ_FM_SHIFT_D; /* 2/pi */
    const double j = jd - SJ_FM_SHIFT_D;
    const double y0 = xr - j * 0x1.921fb54400000p+0;           /* exact */
    const double b1 = j * 0x1.0b4611a600000p-34, b2 = j * 0x1.3198a2e000000p-69; /* exact */
    const double s1 = y0 - b1;                                   /* two-sum y0 + (-b1) */
    const double v1 = s1 - y0;
    const double e1 = (y0 - (s1 - v1)) - (b1 + v1);
    const double s2 = s1 - b2;                                   /* two-sum s1 + (-b2) */
    const double v2 = s2 - s1;
    const double e2 = (s1 - (s2 - v2)) - (b2 + v2);
    const double lo = (e1 + e2) - j * 0x1.b839a252049c1p-104;
    o.rh = s2 + lo;
    o.rl = (s2 - o.rh) + lo;
    o.q = sj_fm_bits_d(jd);
    return o;
}

SJ_FM_INLINE double sj_fm_sin_kernel_d(double rh, double rl, double z)
{
    const double z2 = z * z, z4 = z2 * z2;
    const double S = (-0x1.555555555554ep-3 + 0x1.111111110fe6dp-7 * z) + (-0x1.a01a019cb0a89p-13 + 0x1.71de35ef71addp-19 * z) * z2
                   + (-0x1.ae5eb9a857dd6p-26 + 0x1.5da8e968c913ep-33 * z) * z4;
    return rh + ((rh * z) * S + rl * (1.0 - 0.5 * z));
}

SJ_FM_INLINE double sj_fm_cos_kernel_d(double rh, double rl, double z)
{
    const double z2 = z * z, z4 = z2 * z2;
    const double C = (0x1.5555555555554p-5 - 0x1.6c16c16c16225p-10 * z) + (0x1.a01a019e3630bp-16 - 0x1.27e4f91146229p-22 * z) * z2
                   + (0x1.1eea94c272cc7p-29 - 0x1.9001787169df3p-37 * z) * z4;
    const double hz = 0.5 * z, w = 1.0 - hz;
    return w + (((1.0 - w) - hz) + (z2 * C - rh * rl));
}

/* q odd -> cos kernel, q & 2 -> negate; cos(x) uses q + 1. */
SJ_FM_INLINE double sj_fm_trig_select_d(sj_fm_trigred_d t, uint64_t q)
{
    const double z = t.rh * t.rh;
    const double s = sj_fm_sin_kernel_d(t.rh, t.rl, z);
    const double c = sj_fm_cos_kernel_d(t.rh, t.rl, z);
    const uint64_t odd = 0 - (q & 1); /* all-ones mask; a bitwise blend, as SSE2 cannot select on 64-bit ints */
    const uint64_t v = (sj_fm_bits_d(c) & odd) | (sj_fm_bits_d(s) & ~odd);
    return sj_fm_from_bits_d(v ^ ((q & 2) << 62));
}

#if defined(__GNUC__) && !defined(__clang__) && !defined(SJ_FM_NO_SIMD_CLONES)
/* Weak + hidden: defined in a header, but must be externally visible for gcc to emit all SIMD-clone
 * ISA variants (SSE2 / AVX / AVX2 / AVX-512) rather than one.  Windows (PE) has neither hidden visibility
 * nor dependable weak symbols in a DLL: there a plain external definition (one translation unit, sj_kernels.c,
 * includes this header). */
#if defined(_WIN32)
#define SJ_FM_BIG_ATTRS __attribute__((simd("notinbranch"), const, noinline))
#else
#define SJ_FM_BIG_ATTRS __attribute__((simd("notinbranch"), const, noinline, weak, visibility("hidden")))
#endif
SJ_FM_BIG_ATTRS double sj_fm_sin_big_d(double x);
SJ_FM_BIG_ATTRS double sj_fm_cos_big_d(double x);
SJ_FM_BIG_ATTRS double sj_fm_sin_big_d(double x) { return fabs(x) <= SJ_FM_TRIG_BIG ? -0.0 : sin(x); }
SJ_FM_BIG_ATTRS double sj_fm_cos_big_d(double x) { return fabs(x) <= SJ_FM_TRIG_BIG ? -0.0 : cos(x); }
#undef SJ_FM_BIG_ATTRS
#else
SJ_FM_INLINE double sj_fm_sin_big_d(double x) { return fabs(x) <= SJ_FM_TRIG_BIG ? -0.0 : sin(x); }
SJ_FM_INLINE double sj_fm_cos_big_d(double x) { return fabs(x) <= SJ_FM_TRIG_BIG ? -0.0 : cos(x); }
#endif

/* The big-argument value is added (x + -0.0 == x for every x, including -0.0), not selected: a select
 * would let gcc sink the call into a branch, which blocks if-conversion. */
SJ_FM_INLINE double sj_sin_d(double x)
{
    const sj_fm_trigred_d t = sj_fm_trig_reduce_d(x);
    double v = sj_fm_trig_select_d(t, t.q);
    v = sj_fabs_d(x) < 0x1p-26 ? x : v;               /* sin x = x: keeps -0 and subnormals exact */
    v = sj_fabs_d(x) <= SJ_FM_TRIG_BIG ? v : -0.0;
    return v + sj_fm_sin_big_d(x);
}

SJ_FM_INLINE double sj_cos_d(double x)
{
    const sj_fm_trigred_d t = sj_fm_trig_reduce_d(x);
    double v = sj_fm_trig_select_d(t, t.q + 1);
    v = sj_fabs_d(x) <= SJ_FM_TRIG_BIG ? v : -0.0;
    return v + sj_fm_cos_big_d(x);
}

/* ---------------------------------------------------------------------------------------------------
 * float versions: same methods in float arithmetic (16 lanes per AVX-512 vector), lower degrees.
 * exp/expm1: q(r) ~ (e^r - 1 - r) / r^2, degree 5 on |r| <= ln2/2 (relative error of r + r^2 q below
 * 2^-29 with float coefficients).  Clamps: exp [-104, 0], expm1 [-18, 89]. */
typedef struct { float r, t, kd; } sj_fm_expred_f;

SJ_FM_INLINE float sj_fm_exp_poly_f(float r)
{
    const float r2 = r * r, r4 = r2 * r2;
    return (0.5f + 0x1.555556p-3f * r) + (0x1.5554b6p-5f + 0x1.110f9ep-7f * r) * r2
         + (0x1.6d7042p-10f + 0x1.a33e1ep-13f * r) * r4;
}

SJ_FM_INLINE sj_fm_expred_f sj_fm_exp_reduce_f(float x)
{
    sj_fm_expred_f o;
    o.kd = x * SJ_FM_INVLN2_F + SJ_FM_SHIFT_F;
    const float k = o.kd - SJ_FM_SHIFT_F;
    const float hi = x - k * SJ_FM_LN2HI_F;
    const float lo = k * SJ_FM_LN2LO_F;
    const float r = hi - lo;
    const float c = (hi - r) - lo;
    o.r = r;
    o.t = (r * r) * sj_fm_exp_poly_f(r) + (c + c * r);
    return o;
}

/* exp(x) for x <= 0: as sj_exp_neg_d (clamp at -104; 2^(k + 30) then 2^-30). */
SJ_FM_INLINE float sj_exp_neg_f(float x)
{
    const float xc = x < -104.0f ? -104.0f : x;
    const float kd = xc * SJ_FM_INVLN2_F + SJ_FM_SHIFT_F;
    const float k = kd - SJ_FM_SHIFT_F;
    const float r = (xc - k * SJ_FM_LN2HI_F) - k * SJ_FM_LN2LO_F;
    const float p = 1.0f + (r + (r * r) * sj_fm_exp_poly_f(r));
    const float s1 = sj_fm_from_bits_f((sj_fm_bits_f(kd + 30.0f) + 127) << 23);
    return (p * s1) * 0x1p-30f;
}

SJ_FM_INLINE float sj_fm_expm1_core_f(float xc)
{
    const sj_fm_expred_f e = sj_fm_exp_reduce_f(xc);
    const float s = sj_fm_from_bits_f((sj_fm_bits_f(e.kd) + 126) << 23);
    const float a = s - 0.5f, b = s * e.r;
    const float h = a + b;
    const float l = (a - h) + b;
    return 2.0f * (h + (l + s * e.t));
}

SJ_FM_INLINE float sj_expm1_f(float x)
{
    float xc = x > 89.0f ? 89.0f : x;
    xc = xc < -18.0f ? -18.0f : xc;
    const float y = sj_fm_expm1_core_f(xc);
    return sj_fabs_f(x) < 0x1p-25f ? x : y;
}

/* log1p: as the double version; P degree 2 on z in [0, 0.0295] (absolute error of R below 2^-28). */
SJ_FM_INLINE float sj_log1p_f(float x)
{
    const float u = 1.0f + x;
    const float c = u >= 2.0f ? 1.0f - (u - x) : x - (u - 1.0f);
    const uint32_t ti = sj_fm_bits_f(u) + (0x3f800000U - 0x3f3504f3U);
    const uint32_t eb = ti >> 23;                     /* e + 127, in [103, 255] */
    const float ed = sj_fm_from_bits_f(eb | 0x4b000000U) - (0x1p23f + 127.0f);
    const float m = sj_fm_from_bits_f((ti & 0x007fffffU) + 0x3f3504f3U);
    const float inv2e = sj_fm_from_bits_f((254 - eb) << 23); /* 2^-e, junk for e = 128 (masked below) */
    const float f = m - 1.0f;
    const float hf = 0.5f * f * f;
    const float s = f / (2.0f + f);
    const float z = s * s;
    const float R = z * ((0x1.555572p-1f + 0x1.99647ep-2f * z) + 0x1.315ea4p-2f * (z * z));
    float corr = (c * inv2e) * ((1.0f - f) + 2.0f * hf);
    corr = u < 0x1p120f ? corr : 0.0f;
    float y = ed * SJ_FM_LN2HI_F + (f - (hf - (s * (hf + R) + (ed * SJ_FM_LN2LO_F + corr))));
    y = sj_fabs_f(x) < 0x1p-25f ? x : y;
    y = x > -1.0f ? y : (x == -1.0f ? -HUGE_VALF : NAN);
    return x < HUGE_VALF ? y : x;
}

/* tanh: as the double version, clamp at 10; T degree 4 on [0, 0.55] (relative error 2^-29.6). */
SJ_FM_INLINE float sj_tanh_f(float x)
{
    float a = sj_fabs_f(x);
    a = a > 10.0f ? 10.0f : a;
    const float big = 1.0f - 2.0f / (sj_fm_expm1_core_f(2.0f * a) + 2.0f);
    const float z = a * a, z2 = z * z;
    const float T = (-0x1.55554ep-2f + 0x1.110ddcp-3f * z) + (-0x1.b94278p-5f + 0x1.59fd88p-6f * z) * z2 - 0x1.9f1722p-8f * (z2 * z2);
    const float small = a + (a * z) * T;
    const float t = a < 0.55f ? small : big;
    return copysignf(t, x);
}

/* sin/cos in float: the double code, rounded once (half the lanes of a float kernel, but sin is a rare
 * activation); 0.50 ulp at most over all floats. */
SJ_FM_INLINE float sj_sin_f(float x) { return (float)sj_sin_d((double)x); }
SJ_FM_INLINE float sj_cos_f(float x) { return (float)sj_cos_d((double)x); }

#endif /* SJ_FASTMATH_H */
