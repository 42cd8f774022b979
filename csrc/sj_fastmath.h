/* swarmjac elementary functions used by the activations (sj_activations.h).
 * Placeholder layer over libm: every activation calls these names, so faster vectorisable
 * versions can replace the bodies without touching the kernels. */
#ifndef SJ_FASTMATH_H
#define SJ_FASTMATH_H

#include <math.h>

static inline double sj_fabs_d(double x) { return fabs(x); }
static inline double sj_exp_d(double x) { return exp(x); }
static inline double sj_expm1_d(double x) { return expm1(x); }
static inline double sj_log1p_d(double x) { return log1p(x); }
static inline double sj_tanh_d(double x) { return tanh(x); }
static inline double sj_sin_d(double x) { return sin(x); }
static inline double sj_cos_d(double x) { return cos(x); }

static inline float sj_fabs_f(float x) { return fabsf(x); }
static inline float sj_exp_f(float x) { return expf(x); }
static inline float sj_expm1_f(float x) { return expm1f(x); }
static inline float sj_log1p_f(float x) { return log1pf(x); }
static inline float sj_tanh_f(float x) { return tanhf(x); }
static inline float sj_sin_f(float x) { return sinf(x); }
static inline float sj_cos_f(float x) { return cosf(x); }

#endif /* SJ_FASTMATH_H */
