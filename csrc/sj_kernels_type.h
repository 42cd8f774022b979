/* Instantiates one element type (REAL, SUF, MATH set by sj_kernels.c): the per-particle code at each ISA
 * level, then the entry points that dispatch between them.  No include guard: included once per type. */

#define ISA base
#include "sj_particle_impl.h"
#undef ISA

#ifdef SJ_DISPATCH
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define ISA v3
#include "sj_particle_impl.h"
#undef ISA
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define ISA v4
#include "sj_particle_impl.h"
#undef ISA
#pragma GCC pop_options
#endif

#include "sj_kernels_impl.h"
