/* swarmjac C kernels: instantiates the templated code for each element type and instruction-set level.
 * The only place where the element type and the ISA are chosen: sj_particle_impl.h (the per-particle
 * compute) is compiled once per (type, ISA level), sj_kernels_impl.h (the entry points) once per type. */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#ifdef SJ_HAVE_OPENMP
#include <omp.h>
#endif

#include "sj_kernels.h"
#include "sj_fastmath.h"

/* Runtime dispatch (x86-64 with gcc): the per-particle code is compiled for baseline x86-64, x86-64-v3
 * (AVX2 + FMA) and x86-64-v4 (AVX-512) in "#pragma GCC target" regions, and each call runs the best level
 * the CPU supports, so one wheel runs on any x86-64.  Unlike function clones, each level is a separate
 * instantiation, so its vector width and register tile are compile-time constants of that level.
 * Elsewhere, and in a build that already targets AVX2 or more (SWARMJAC_NATIVE=1), only the baseline
 * instance exists, compiled for whatever the build targets. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) && !defined(__AVX2__) \
    && !defined(SJ_NO_DISPATCH)
#define SJ_DISPATCH 1 /* gcc >= 11: the first to know the x86-64-v3/v4 levels as targets */
#endif

#if defined(__GNUC__)
#define SJ_INLINE static inline __attribute__((always_inline))
#else
#define SJ_INLINE static inline
#endif

#define SJ_CAT2(a, b) a##_##b
#define SJ_CAT(a, b) SJ_CAT2(a, b)

/* ISA levels: index into the per-type tables of per-particle functions. */
enum { SJ_ISA_BASE = 0, SJ_ISA_V3 = 1, SJ_ISA_V4 = 2, SJ_N_ISA = 3 };
static const char *const sj_isa_names[SJ_N_ISA] = {"x86-64", "x86-64-v3", "x86-64-v4"};

/* The best level this CPU runs, lowered by the environment variable SWARMJAC_ISA (x86-64, x86-64-v3 or
 * x86-64-v4; for tests and benchmarks of the lower levels).  Read once, on the first call. */
static int sj_isa_detect(void)
{
    int level = SJ_ISA_BASE;
#ifdef SJ_DISPATCH
    __builtin_cpu_init();
#if __GNUC__ >= 12
    const int v3 = __builtin_cpu_supports("x86-64-v3"), v4 = __builtin_cpu_supports("x86-64-v4");
#else /* gcc 11 cannot test the levels by name: their defining features (and the OS's AVX state) */
    const int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2")
                && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("movbe");
    const int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
                && __builtin_cpu_supports("avx512vl");
#endif
    if (v4) level = SJ_ISA_V4;
    else if (v3) level = SJ_ISA_V3;
#endif
    const char *want = getenv("SWARMJAC_ISA");
    if (want && *want)
        for (int i = 0; i < SJ_N_ISA; ++i)
            if (strcmp(want, sj_isa_names[i]) == 0 && i < level) level = i;
    return level;
}

static int sj_isa_level(void)
{
    static int cached = -1; /* benign race: every thread computes the same value */
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = sj_isa_detect();
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}

const char *sj_isa(void)
{
    return sj_isa_names[sj_isa_level()];
}

/* Whether the fused fitness sweeps a block that observes n_dir input directions in reverse mode: when
 * told to, or in auto mode when that carries fewer columns (d_out adjoints instead of n_dir tangents). */
static inline int sj_block_reverse(int mode, int d_out, int n_dir)
{
    return n_dir > 0 && (mode == SJ_MODE_REVERSE || (mode == SJ_MODE_AUTO && d_out < n_dir));
}

/* Scratch buffers are 64-byte aligned for full-width vector loads. */
static void *sj_aligned_alloc(size_t n_bytes)
{
    void *ptr = NULL;
    size_t rounded = (n_bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    if (posix_memalign(&ptr, 64, rounded) != 0) return NULL;
    return ptr;
}

/* Per-thread scratch, allocated once per thread and call (element type: that of the call). */
typedef struct {
    void *buf0, *buf1; /* layer buffers, (width, n_cols) */
    void *dsave;       /* f'(z) of every unit, for the reverse sweep */
    void *packed;      /* the current particle's weights in kernel order */
    void *gsave;       /* fitness gradient: every layer's columns of a block, f'(z) and f''(z) */
    double *gacc;      /* fitness gradient: its sums, n_params */
} sj_scratch;

/* What a call's scratch must hold: the forward sweep only; also W^T and f'(z) for reverse sweeps; also
 * the saved columns and sums of the fitness gradient. */
enum { SJ_SCRATCH_FORWARD = 0, SJ_SCRATCH_REVERSE = 1, SJ_SCRATCH_GRADIENT = 2 };

static void sj_scratch_free(sj_scratch *sc)
{
    free(sc->buf0); free(sc->buf1); free(sc->dsave); free(sc->packed); free(sc->gsave); free(sc->gacc);
    sc->buf0 = sc->buf1 = sc->dsave = sc->packed = sc->gsave = NULL;
    sc->gacc = NULL;
}

int sj_openmp_enabled(void)
{
#ifdef SJ_HAVE_OPENMP
    return 1;
#else
    return 0;
#endif
}

/* What OpenMP would use for a parallel region opened by the calling thread: OMP_NUM_THREADS, or what
 * omp_set_num_threads (threadpoolctl) set, else the CPUs of the affinity mask at start-up. Python then
 * applies the affinity mask of the moment, the cgroup quota and the particle count (swarmjac/_threads.py). */
int sj_max_threads(void)
{
#ifdef SJ_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* One element type: its per-particle code at every ISA level, then its entry points. */
#define SJ_INSTANTIATE_TYPE "sj_kernels_type.h"

#define REAL double
#define REAL_BITS uint64_t
#define REAL_EXP_MASK 0x7ff0000000000000ULL
#define SUF f64
#define MATH(name) sj_##name##_d
#include SJ_INSTANTIATE_TYPE
#undef REAL
#undef REAL_BITS
#undef REAL_EXP_MASK
#undef SUF
#undef MATH

#define REAL float
#define REAL_BITS uint32_t
#define REAL_EXP_MASK 0x7f800000U
#define SUF f32
#define MATH(name) sj_##name##_f
#include SJ_INSTANTIATE_TYPE
#undef REAL
#undef REAL_BITS
#undef REAL_EXP_MASK
#undef SUF
#undef MATH
