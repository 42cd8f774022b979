/* swarmjac C kernels: instantiates the templated code for each element type and instruction-set level.
 * The only place where the element type and the ISA are chosen: sj_particle_impl.h (the per-particle
 * compute) is compiled once per (type, ISA level), sj_kernels_impl.h (the entry points) once per type. */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#include <stdlib.h>
#if defined(_WIN32)
#include <malloc.h> /* _aligned_malloc */
#endif
#include <string.h>
#include <math.h>
#ifdef SJ_HAVE_OPENMP
#include <omp.h>
#endif

#include "sj_kernels.h"
#include "sj_fastmath.h"

/* ----- portability: the compiler and platform specifics, all here ----- */

#if defined(__GNUC__) || defined(__clang__)
#define SJ_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define SJ_INLINE static __forceinline
#else
#define SJ_INLINE static inline
#endif

/* 64-byte alignment of local arrays (C11 _Alignas; MSVC's C mode spells it __declspec). */
#if defined(_MSC_VER) && !defined(__clang__)
#define SJ_ALIGN64 __declspec(align(64))
#else
#define SJ_ALIGN64 _Alignas(64)
#endif

/* The cached ISA level: a relaxed atomic int (GNU builtins, MSVC Interlocked*, else C11 stdatomic). */
#if defined(__GNUC__) || defined(__clang__)
typedef int sj_atomic_int;
#define SJ_ATOMIC_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define SJ_ATOMIC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#elif defined(_MSC_VER)
#include <intrin.h>
typedef volatile long sj_atomic_int;
#define SJ_ATOMIC_LOAD(p) ((int)_InterlockedOr((p), 0))
#define SJ_ATOMIC_STORE(p, v) ((void)_InterlockedExchange((p), (long)(v)))
#elif !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
typedef atomic_int sj_atomic_int;
#define SJ_ATOMIC_LOAD(p) atomic_load_explicit((p), memory_order_relaxed)
#define SJ_ATOMIC_STORE(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#else
#error "swarmjac: no atomics on this compiler (GNU builtins, MSVC Interlocked or C11 stdatomic needed)"
#endif

/* Runtime dispatch (x86-64 with gcc >= 11 or clang >= 14): the per-particle code is compiled for baseline
 * x86-64, x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512) -- in "#pragma GCC target" regions with gcc, in
 * "#pragma clang attribute" target regions with clang -- and each call runs the best level the CPU
 * supports, so one wheel runs on any x86-64.  Unlike function clones, each level is a separate
 * instantiation, so its vector width and register tile are compile-time constants of that level
 * (sj_kernels_type.h sets them per level: clang's target regions do not define __AVX2__ and friends).
 * Elsewhere, and in a build that already targets AVX2 or more (SWARMJAC_NATIVE=1), only the baseline
 * instance exists, compiled for whatever the build targets; an x86-64 compiler that cannot dispatch says
 * so at build time. */
#if defined(__x86_64__) || defined(_M_X64)
#define SJ_X86_64 1
#if !defined(__AVX2__) && !defined(SJ_NO_DISPATCH)
#if defined(__clang__)
#if __clang_major__ >= 14
#define SJ_DISPATCH 1
#define SJ_DISPATCH_CLANG 1
#endif
#elif defined(__GNUC__) && __GNUC__ >= 11 /* the first gcc to know the x86-64-v3/v4 levels as targets */
#define SJ_DISPATCH 1
#endif
#if defined(SJ_DISPATCH) && !(defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12)
#include <cpuid.h> /* sj_isa_detect reads the features __builtin_cpu_supports lacks */
#endif
#if !defined(SJ_DISPATCH)
#if defined(_MSC_VER) && !defined(__clang__)
#pragma message("swarmjac: MSVC builds no x86-64-v3/v4 dispatch; the kernels run baseline x86-64 only")
#else
#warning "swarmjac: this compiler cannot build the x86-64-v3/v4 dispatch (gcc >= 11 or clang >= 14 can); the kernels run baseline x86-64 only"
#endif
#endif
#endif
#endif

#define SJ_CAT2(a, b) a##_##b
#define SJ_CAT(a, b) SJ_CAT2(a, b)

/* ISA levels: index into the per-type tables of per-particle functions, lowest first.  The baseline
 * instance is named after what the build targets. */
#if defined(SJ_X86_64)
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512CD__) && defined(__AVX512DQ__) \
    && defined(__AVX512VL__)
#define SJ_BASE_NAME "x86-64-v4"
#elif defined(__AVX2__) && defined(__FMA__)
#define SJ_BASE_NAME "x86-64-v3"
#else
#define SJ_BASE_NAME "x86-64"
#endif
#elif defined(__aarch64__) || defined(_M_ARM64)
#define SJ_BASE_NAME "aarch64-neon" /* NEON (Advanced SIMD) is part of every AArch64 CPU */
#else
#define SJ_BASE_NAME "generic"
#endif
#ifdef SJ_DISPATCH
enum { SJ_ISA_BASE = 0, SJ_ISA_V3 = 1, SJ_ISA_V4 = 2, SJ_N_ISA = 3 };
static const char *const sj_isa_names[SJ_N_ISA] = {SJ_BASE_NAME, "x86-64-v3", "x86-64-v4"};
#else
enum { SJ_ISA_BASE = 0, SJ_N_ISA = 1 };
static const char *const sj_isa_names[SJ_N_ISA] = {SJ_BASE_NAME};
#endif

/* The best level this CPU runs, lowered by the environment variable SWARMJAC_ISA (one of the names of
 * sj_isa_names; for tests and benchmarks of the lower levels).  Read once, on the first call. */
static int sj_isa_detect(void)
{
    int level = SJ_ISA_BASE;
#ifdef SJ_DISPATCH
    __builtin_cpu_init();
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
    const int v3 = __builtin_cpu_supports("x86-64-v3"), v4 = __builtin_cpu_supports("x86-64-v4");
#else /* gcc 11 and clang cannot test the levels by name: their defining features (the builtins also check
       * the OS's AVX state); clang 14 knows neither f16c nor movbe there, nor gcc 11 lzcnt: CPUID has them. */
    unsigned eax, ebx, ecx1 = 0, edx, ecx_ext = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx1, &edx)) ecx1 = 0;
    if (!__get_cpuid(0x80000001u, &eax, &ebx, &ecx_ext, &edx)) ecx_ext = 0;
    const int f16c = (ecx1 >> 29) & 1, movbe = (ecx1 >> 22) & 1, lzcnt = (ecx_ext >> 5) & 1;
    const int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") && f16c && movbe && lzcnt;
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
    static sj_atomic_int cached = -1; /* benign race: every thread computes the same value */
    int level = SJ_ATOMIC_LOAD(&cached);
    if (level < 0) {
        level = sj_isa_detect();
        SJ_ATOMIC_STORE(&cached, level);
    }
    return level;
}

const char *sj_isa(void)
{
    return sj_isa_names[sj_isa_level()];
}

int sj_isa_count(void)
{
    return SJ_N_ISA;
}

const char *sj_isa_name(int level)
{
    return level >= 0 && level < SJ_N_ISA ? sj_isa_names[level] : NULL;
}

/* Whether the fused fitness sweeps a block that observes n_dir input directions in reverse mode: when
 * told to, or in auto mode when that carries fewer columns (d_out adjoints instead of n_dir tangents). */
static inline int sj_block_reverse(int mode, int d_out, int n_dir)
{
    return n_dir > 0 && (mode == SJ_MODE_REVERSE || (mode == SJ_MODE_AUTO && d_out < n_dir));
}

/* Scratch buffers are 64-byte aligned for full-width vector loads (freed with sj_aligned_free). */
static void *sj_aligned_alloc(size_t n_bytes)
{
    size_t rounded = (n_bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
#if defined(_WIN32)
    return _aligned_malloc(rounded, 64);
#elif defined(__unix__) || defined(__APPLE__)
    void *ptr = NULL;
    if (posix_memalign(&ptr, 64, rounded) != 0) return NULL;
    return ptr;
#else
    return aligned_alloc(64, rounded); /* C11; rounded is a multiple of the alignment */
#endif
}

static void sj_aligned_free(void *ptr)
{
#if defined(_WIN32)
    _aligned_free(ptr);
#else
    free(ptr);
#endif
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
    sj_aligned_free(sc->buf0); sj_aligned_free(sc->buf1); sj_aligned_free(sc->dsave);
    sj_aligned_free(sc->packed); sj_aligned_free(sc->gsave); sj_aligned_free(sc->gacc);
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
