/* swarmjac C kernels: instantiates the templated implementation for float64 and float32.
 * The only place where the element type is chosen; everything else lives in sj_kernels_impl.h. */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#ifdef SJ_HAVE_OPENMP
#include <omp.h>
#endif

#include "sj_kernels.h"
#include "sj_fastmath.h"

/* Hot per-particle functions are compiled for several ISA levels and picked at load time (ifunc), so one
 * wheel runs on any x86-64 and still uses AVX-512/AVX2+FMA where present.  Helpers they call are forced
 * inline so that each clone gets its own vectorised copy. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(SJ_NO_CLONES)
#define SJ_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SJ_CLONES
#endif
#if defined(__GNUC__)
#define SJ_INLINE static inline __attribute__((always_inline))
#else
#define SJ_INLINE static inline
#endif

/* Register tile of the dense layer: SJ_TILE_ROWS outputs x SJ_TILE_COLS sample columns. */
#define SJ_TILE_ROWS 4
#define SJ_TILE_COLS 16

/* Scratch buffers are 64-byte aligned for full-width vector loads. */
static void *sj_aligned_alloc(size_t n_bytes)
{
    void *ptr = NULL;
    size_t rounded = (n_bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    if (posix_memalign(&ptr, 64, rounded) != 0) return NULL;
    return ptr;
}

int sj_openmp_enabled(void)
{
#ifdef SJ_HAVE_OPENMP
    return 1;
#else
    return 0;
#endif
}

int sj_max_threads(void)
{
#ifdef SJ_HAVE_OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

#define REAL double
#define SUF f64
#define MATH(name) sj_##name##_d
#include "sj_kernels_impl.h"
#undef REAL
#undef SUF
#undef MATH

#define REAL float
#define SUF f32
#define MATH(name) sj_##name##_f
#include "sj_kernels_impl.h"
#undef REAL
#undef SUF
#undef MATH
