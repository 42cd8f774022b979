# Cython declarations of the C kernels (csrc/sj_kernels.h), mirrored field by field.
# This is the only place the C interface is declared; _kernels.pyx cimports it.
from libc.stdint cimport int32_t, int64_t

cdef extern from "sj_kernels.h" nogil:
    enum:
        SJ_BLOCK
        SJ_MAX_LAYERS
        SJ_N_ACTIVATIONS
        SJ_OK
        SJ_ENOMEM
        SJ_EINVAL
        SJ_MODE_FORWARD
        SJ_MODE_REVERSE
        SJ_MODE_AUTO

    ctypedef struct sj_net:
        int32_t n_layers
        const int32_t *sizes
        const int32_t *activations
        int64_t n_params

    ctypedef struct sj_data:
        int64_t n_blocks
        const void *X
        const void *y
        const void *y_mask
        const void *dydx
        const void *dydx_mask
        const int32_t *block_dirs
        const int32_t *block_n_dirs
        double value_scale
        double derivative_scale

    # Return codes: SJ_OK, SJ_ENOMEM or SJ_EINVAL; _kernels.pyx turns them into exceptions.
    int sj_predict_f64(const sj_net *net, const double *params, int64_t n_particles,
                       const double *X, int64_t n_samples, double *Y, int n_threads)
    int sj_predict_f32(const sj_net *net, const float *params, int64_t n_particles,
                       const float *X, int64_t n_samples, float *Y, int n_threads)
    int sj_value_and_jacobian_f64(const sj_net *net, const double *params, int64_t n_particles,
                                  const double *X, int64_t n_samples, double *Y, double *J,
                                  int mode, int n_threads)
    int sj_value_and_jacobian_f32(const sj_net *net, const float *params, int64_t n_particles,
                                  const float *X, int64_t n_samples, float *Y, float *J,
                                  int mode, int n_threads)
    int sj_fitness_f64(const sj_net *net, const double *params, int64_t n_particles,
                       const sj_data *data, double *fitness, int mode, int n_threads)
    int sj_fitness_f32(const sj_net *net, const float *params, int64_t n_particles,
                       const sj_data *data, float *fitness, int mode, int n_threads)
    int sj_fitness_and_gradient_f64(const sj_net *net, const double *params, int64_t n_particles,
                                    const sj_data *data, double *fitness, double *grad, int mode, int n_threads)
    int sj_fitness_and_gradient_f32(const sj_net *net, const float *params, int64_t n_particles,
                                    const sj_data *data, float *fitness, float *grad, int mode, int n_threads)
    int sj_eval_activation_f64(int code, const double *z, int64_t n, double *a, double *d)
    int sj_eval_activation_f32(int code, const float *z, int64_t n, float *a, float *d)
    int sj_openmp_enabled()
    int sj_max_threads()
    const char *sj_isa()
    int sj_isa_count()
    const char *sj_isa_name(int level)
