# Cython wrapper of the C kernels: typed memoryviews in, raw pointers out, GIL released around each call.
# Sits between the Python API (swarmjac/network.py, which validates, coerces and allocates every output;
# swarmjac/_layout.py, which lays out the data) and csrc/ (which computes). Nothing here allocates results
# or checks user input beyond C invariants.
from cython cimport floating
from libc.stdint cimport int32_t, int64_t

from swarmjac._kernels cimport *

BLOCK = SJ_BLOCK
MAX_LAYERS = SJ_MAX_LAYERS
MODE_FORWARD = SJ_MODE_FORWARD
MODE_REVERSE = SJ_MODE_REVERSE
MODE_AUTO = SJ_MODE_AUTO


def openmp_enabled() -> bool:
    """Whether the compiled core was built with OpenMP."""
    return bool(sj_openmp_enabled())


def max_threads() -> int:
    """Number of threads used when ``n_threads`` is None or -1."""
    return sj_max_threads()


def isa() -> str:
    """Instruction-set level the network kernels run: on x86-64 "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2 +
    FMA) or "x86-64" (baseline), on AArch64 "aarch64-neon", elsewhere "generic".  The best level of
    :func:`isa_levels` the CPU supports unless the environment variable SWARMJAC_ISA names a lower one
    (read once, at the first kernel call)."""
    return sj_isa().decode("ascii")


def isa_levels() -> tuple:
    """Instruction-set levels this build holds, lowest first: all three x86-64 levels in a build with the
    runtime dispatch (gcc >= 11 or clang >= 14 on x86-64), otherwise the one level it was compiled for."""
    return tuple(sj_isa_name(i).decode("ascii") for i in range(sj_isa_count()))


cdef int _check(int status) except -1:
    if status == SJ_ENOMEM:
        raise MemoryError("swarmjac kernel could not allocate its per-thread scratch buffers")
    if status != SJ_OK:
        raise ValueError(f"swarmjac kernel rejected its arguments (status {status}); this is a bug in "
                         "the Python validation layer, please report it")
    return 0


cdef inline sj_net _make_net(const int32_t[::1] sizes, const int32_t[::1] activations, int64_t n_params):
    cdef sj_net net
    net.n_layers = <int32_t>activations.shape[0]
    net.sizes = &sizes[0]
    net.activations = &activations[0]
    net.n_params = n_params
    return net


def predict(const int32_t[::1] sizes, const int32_t[::1] activations,
            const floating[:, ::1] params, const floating[:, :, ::1] X_blocks, int64_t n_samples,
            floating[:, :, ::1] Y, int n_threads):
    """Y[p, n, :] = network output of particle p at sample n (X in block layout)."""
    cdef sj_net net = _make_net(sizes, activations, params.shape[1])
    cdef int status
    with nogil:
        if floating is double:
            status = sj_predict_f64(&net, &params[0, 0], params.shape[0], &X_blocks[0, 0, 0],
                                    n_samples, &Y[0, 0, 0], n_threads)
        else:
            status = sj_predict_f32(&net, &params[0, 0], params.shape[0], &X_blocks[0, 0, 0],
                                    n_samples, &Y[0, 0, 0], n_threads)
    _check(status)


def value_and_jacobian(const int32_t[::1] sizes, const int32_t[::1] activations,
                       const floating[:, ::1] params, const floating[:, :, ::1] X_blocks,
                       int64_t n_samples, floating[:, :, ::1] Y, floating[:, :, :, ::1] J,
                       int mode, int n_threads):
    """Outputs Y (P, N, d_out) and input Jacobians J (P, N, d_out, d_in)."""
    cdef sj_net net = _make_net(sizes, activations, params.shape[1])
    cdef int status
    with nogil:
        if floating is double:
            status = sj_value_and_jacobian_f64(&net, &params[0, 0], params.shape[0], &X_blocks[0, 0, 0],
                                               n_samples, &Y[0, 0, 0], &J[0, 0, 0, 0], mode, n_threads)
        else:
            status = sj_value_and_jacobian_f32(&net, &params[0, 0], params.shape[0], &X_blocks[0, 0, 0],
                                               n_samples, &Y[0, 0, 0], &J[0, 0, 0, 0], mode, n_threads)
    _check(status)


cdef int _fill_data(sj_data *data, object blocks, const floating *element_type) except -1:
    """Fill the kernels' data struct from an ObservationBlocks (swarmjac/_layout.py) whose arrays have the
    element type of the call (element_type only selects the specialisation).  The arrays stay alive with
    `blocks`, which the caller holds for the duration of the C call."""
    cdef const floating[:, :, ::1] X = blocks.X
    cdef const floating[:, :, ::1] y = blocks.y
    cdef const floating[:, :, ::1] y_mask = blocks.y_mask
    cdef const floating[:, :, :, ::1] dydx = blocks.dydx
    cdef const floating[:, :, :, ::1] dydx_mask = blocks.dydx_mask
    cdef const int32_t[:, ::1] block_dirs = blocks.block_dirs
    cdef const int32_t[::1] block_n_dirs = blocks.block_n_dirs
    data.n_blocks = X.shape[0]
    data.X = &X[0, 0, 0]
    data.y = &y[0, 0, 0]
    data.y_mask = &y_mask[0, 0, 0]
    data.dydx = &dydx[0, 0, 0, 0]
    data.dydx_mask = &dydx_mask[0, 0, 0, 0]
    data.block_dirs = &block_dirs[0, 0]
    data.block_n_dirs = &block_n_dirs[0]
    data.value_scale = blocks.value_scale
    data.derivative_scale = blocks.derivative_scale
    return 0


def fitness(const int32_t[::1] sizes, const int32_t[::1] activations, const floating[:, ::1] params,
            object blocks, floating[::1] out, int mode, int n_threads):
    """Fused fitness of every particle against observations in block layout (swarmjac/_layout.py)."""
    cdef sj_net net = _make_net(sizes, activations, params.shape[1])
    cdef sj_data data
    cdef int status
    _fill_data(&data, blocks, &params[0, 0])
    with nogil:
        if floating is double:
            status = sj_fitness_f64(&net, &params[0, 0], params.shape[0], &data, &out[0], mode, n_threads)
        else:
            status = sj_fitness_f32(&net, &params[0, 0], params.shape[0], &data, &out[0], mode, n_threads)
    _check(status)


def fitness_and_gradient(const int32_t[::1] sizes, const int32_t[::1] activations,
                         const floating[:, ::1] params, object blocks, floating[::1] out,
                         floating[:, ::1] grad, int mode, int n_threads):
    """Fused fitness (out, P) and its gradient with respect to the weights (grad, (P, n_params))."""
    cdef sj_net net = _make_net(sizes, activations, params.shape[1])
    cdef sj_data data
    cdef int status
    _fill_data(&data, blocks, &params[0, 0])
    with nogil:
        if floating is double:
            status = sj_fitness_and_gradient_f64(&net, &params[0, 0], params.shape[0], &data, &out[0],
                                                 &grad[0, 0], mode, n_threads)
        else:
            status = sj_fitness_and_gradient_f32(&net, &params[0, 0], params.shape[0], &data, &out[0],
                                                 &grad[0, 0], mode, n_threads)
    _check(status)


def eval_activation(int code, const floating[::1] z, floating[::1] a, floating[::1] d):
    """a = f(z), d = f'(z) with the kernels' own activation code (for tests of the activations)."""
    cdef int status
    if z.shape[0] == 0:
        return
    with nogil:
        if floating is double:
            status = sj_eval_activation_f64(code, &z[0], z.shape[0], &a[0], &d[0])
        else:
            status = sj_eval_activation_f32(code, &z[0], z.shape[0], &a[0], &d[0])
    _check(status)
