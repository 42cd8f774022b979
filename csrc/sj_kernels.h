/* swarmjac C kernels: public declarations.
 * Flow: Python API (validates, allocates) -> _kernels.pyx (memoryviews, GIL released) -> these functions.
 * Every function is provided for float64 (_f64) and float32 (_f32) from one source (sj_kernels_impl.h).
 * C never allocates results; it only allocates per-thread scratch. Failure is reported by the return code. */
#ifndef SJ_KERNELS_H
#define SJ_KERNELS_H

#include <stdint.h>

/* Samples are processed in blocks of SJ_BLOCK; the innermost loops run over the samples of a block. */
#define SJ_BLOCK 64

/* Deepest network the kernels accept (weight layers). */
#define SJ_MAX_LAYERS 64

enum sj_activation {
    SJ_LINEAR = 0,
    SJ_SIGMOID = 1,
    SJ_TANH = 2,
    SJ_RELU = 3,
    SJ_LEAKY_RELU = 4,
    SJ_SOFTPLUS = 5,
    SJ_ELU = 6,
    SJ_SIN = 7,
    SJ_GELU = 8,
    SJ_N_ACTIVATIONS = 9
};

enum sj_status {
    SJ_OK = 0,
    SJ_ENOMEM = -1, /* per-thread scratch could not be allocated */
    SJ_EINVAL = -2  /* inconsistent arguments (the Python layer should have caught it) */
};

/* Jacobian accumulation modes. */
enum sj_mode {
    SJ_MODE_FORWARD = 0, /* carry one tangent column per input direction through the layers */
    SJ_MODE_REVERSE = 1, /* one backward sweep per output, after a value-only forward sweep */
    SJ_MODE_AUTO = 2     /* per sample block, whichever carries fewer columns (reverse if d_out < n_dir) */
};

/* The network: widths sizes[0..n_layers] (d_in first) and one activation code per weight layer.
 * A particle's parameters are, per layer, W (out x in, row-major) then b (out). */
typedef struct {
    int32_t n_layers;
    const int32_t *sizes;
    const int32_t *activations;
    int64_t n_params;
} sj_net;

/* Observations in block layout (prepared once per data set and dtype by swarmjac/_layout.py).
 * One struct for both element types: the array pointers point to elements of the type of the call
 * (double for the _f64 entry points, float for _f32), so the Cython layer fills it from one source.
 * Index b is a block of SJ_BLOCK samples; padded lanes carry mask 0.
 *   X        (n_blocks, d_in, SJ_BLOCK)
 *   y, y_mask                (n_blocks, d_out, SJ_BLOCK)
 *   dydx, dydx_mask          (n_blocks, d_in, d_out, SJ_BLOCK)   direction-major
 *   block_dirs   (n_blocks, d_in): the input directions some row of the block observes, first block_n_dirs[b] used
 * A mask entry is the weight of that observation (0: not observed; 1 unless the rows carry sample weights).
 * fitness = value_scale * sum(mask * value error^2) + derivative_scale * sum(mask * derivative error^2). */
typedef struct {
    int64_t n_blocks;
    const void *X;
    const void *y;
    const void *y_mask;
    const void *dydx;
    const void *dydx_mask;
    const int32_t *block_dirs;
    const int32_t *block_n_dirs;
    double value_scale;
    double derivative_scale;
} sj_data;

/* Values only.  params (P, n_params); X (n_blocks, d_in, SJ_BLOCK) with n_blocks = ceil(N / SJ_BLOCK);
 * Y (P, N, d_out). */
int sj_predict_f64(const sj_net *net, const double *params, int64_t n_particles,
                   const double *X, int64_t n_samples, double *Y, int n_threads);
int sj_predict_f32(const sj_net *net, const float *params, int64_t n_particles,
                   const float *X, int64_t n_samples, float *Y, int n_threads);

/* Values and the full input Jacobian J (P, N, d_out, d_in), J[..., k, j] = dY_k / dX_j. */
int sj_value_and_jacobian_f64(const sj_net *net, const double *params, int64_t n_particles,
                              const double *X, int64_t n_samples, double *Y, double *J,
                              int mode, int n_threads);
int sj_value_and_jacobian_f32(const sj_net *net, const float *params, int64_t n_particles,
                              const float *X, int64_t n_samples, float *Y, float *J,
                              int mode, int n_threads);

/* Fused fitness, one number per particle; non-finite results become +inf. */
int sj_fitness_f64(const sj_net *net, const double *params, int64_t n_particles,
                   const sj_data *data, double *fitness, int mode, int n_threads);
int sj_fitness_f32(const sj_net *net, const float *params, int64_t n_particles,
                   const sj_data *data, float *fitness, int mode, int n_threads);

/* Fused fitness and its exact gradient with respect to the weights, grad (P, n_params): per block, a
 * forward sweep that carries tangents (of the observed input directions, or in a reverse block one per
 * output along the derivative residuals), then one reverse sweep through values and tangents, so the
 * derivative terms get their mixed second derivatives.  mode as for sj_fitness, whose fitness this is, bit
 * for bit; a particle whose fitness is not finite gets +inf and a gradient of NaN. */
int sj_fitness_and_gradient_f64(const sj_net *net, const double *params, int64_t n_particles,
                                const sj_data *data, double *fitness, double *grad, int mode, int n_threads);
int sj_fitness_and_gradient_f32(const sj_net *net, const float *params, int64_t n_particles,
                                const sj_data *data, float *fitness, float *grad, int mode, int n_threads);

/* One activation and its derivative over an array (used by tests to check the activation code). */
int sj_eval_activation_f64(int code, const double *z, int64_t n, double *a, double *d);
int sj_eval_activation_f32(int code, const float *z, int64_t n, float *a, float *d);

/* Whether the library was built with OpenMP, and its default thread count. */
int sj_openmp_enabled(void);
int sj_max_threads(void);

/* Name of the instruction-set level the network kernels run: on x86-64 "x86-64", "x86-64-v3" or
 * "x86-64-v4", on AArch64 "aarch64-neon", elsewhere "generic".  The best level of this build that the CPU
 * supports, or a lower one named by the environment variable SWARMJAC_ISA, read once. */
const char *sj_isa(void);

/* The levels this build holds, lowest first: sj_isa_name(0 .. sj_isa_count() - 1) (NULL out of range).
 * One level unless the build has the x86-64 runtime dispatch (then three). */
int sj_isa_count(void);
const char *sj_isa_name(int level);

#endif /* SJ_KERNELS_H */
