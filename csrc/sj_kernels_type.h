/* Instantiates one element type (REAL, SUF, MATH set by sj_kernels.c): the per-particle code at each ISA
 * level, then the entry points that dispatch between them.  No include guard: included once per type.
 * Each dispatch level sets its vector width (SJ_LEVEL_VBYTES) and register tile rows (SJ_LEVEL_TR) here,
 * since clang's target regions, unlike gcc's, do not define the ISA macros (__AVX2__, ...) that the
 * baseline instance goes by. */

#define ISA base
#include "sj_particle_impl.h"
#undef ISA

#ifdef SJ_DISPATCH
#define SJ_LEVEL_VBYTES 32
#define SJ_LEVEL_TR 4
#ifdef SJ_DISPATCH_CLANG
#pragma clang attribute push(__attribute__((target("arch=x86-64-v3"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#endif
#define ISA v3
#include "sj_particle_impl.h"
#undef ISA
#ifdef SJ_DISPATCH_CLANG
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef SJ_LEVEL_VBYTES
#undef SJ_LEVEL_TR

#define SJ_LEVEL_VBYTES 64
#define SJ_LEVEL_TR 8
#ifdef SJ_DISPATCH_CLANG
#pragma clang attribute push(__attribute__((target("arch=x86-64-v4"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#endif
#define ISA v4
#include "sj_particle_impl.h"
#undef ISA
#ifdef SJ_DISPATCH_CLANG
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef SJ_LEVEL_VBYTES
#undef SJ_LEVEL_TR
#endif

#include "sj_kernels_impl.h"
