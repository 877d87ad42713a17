/* backend_select.c — the registry of compute backends: which are compiled in,
 * choosing one by name or by $LENS_DEVICE, the process default, and the check
 * that a backend's table is complete.
 *
 * Owns: lens_backend_by_name, lens_backend_default, lens_backend_select,
 * lens_backend_of_device, and the stand-in lens_backend_cuda of a build without
 * CUDA. Does not own: the backends themselves (backend_cpu.c, backend_sim.c,
 * kernels/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#ifndef LENS_HAVE_CUDA
const lens_backend *lens_backend_cuda(lens_error *err)
{
    lens_fail_kind(err, LENS_ERR_DEVICE, "this build has no CUDA backend (it was compiled without nvcc)");
    return NULL;
}
#endif

/* The name of the first operation a table lacks, or NULL when it has them all. */
static const char *missing_operation(const lens_backend *be)
{
#define NEED(op) \
    if (!be->op) return #op;
    NEED(alloc) NEED(free) NEED(upload) NEED(download) NEED(copy) NEED(memset_zero)
    NEED(synchronize) NEED(memory_info)
    NEED(matmul) NEED(layernorm) NEED(attention) NEED(attn_scores) NEED(attn_softmax) NEED(attn_z)
    NEED(head_results) NEED(activation) NEED(add) NEED(embed)
    NEED(matmul_dx) NEED(layernorm_dx) NEED(attention_dx) NEED(activation_dx)
    NEED(copy_strided) NEED(binary_f32) NEED(unary_f32) NEED(reduce_f32) NEED(softmax_rows)
    NEED(matmul_batched) NEED(fill_f32) NEED(gather_rows) NEED(compare_rows)
#undef NEED
    return NULL;
}

int lens_backend_check_complete(const lens_backend *be, lens_error *err)
{
    const char *op = missing_operation(be);
    if (op)
        return lens_fail_kind(err, LENS_ERR_DEVICE, "the %s backend is incomplete: it has no '%s' operation",
                              be->name ? be->name : "unnamed", op);
    return 0;
}

/* be itself when its table is complete, else NULL with err naming the missing operation. */
static const lens_backend *complete(const lens_backend *be, lens_error *err)
{
    if (!be || lens_backend_check_complete(be, err)) return NULL;
    return be;
}

const lens_backend *lens_backend_by_name(const char *name, lens_error *err)
{
    if (!name) name = "(none)";
    if (!strcmp(name, "cpu")) return complete(lens_backend_cpu(), err);
    if (!strcmp(name, "sim")) return complete(lens_backend_sim(), err);
    if (!strcmp(name, "cuda")) {
        lens_error why = {.kind = LENS_ERR_DEVICE};
        const lens_backend *be = lens_backend_cuda(&why);
        if (!be) {
            lens_fail_kind(err, LENS_ERR_DEVICE, "cuda was asked for but no CUDA device can be used: %s", why.msg);
            return NULL;
        }
        return complete(be, err);
    }
    lens_fail_kind(err, LENS_ERR_INVALID, "unknown device '%s': the devices are 'cpu', 'cuda' and 'sim'", name);
    return NULL;
}

const lens_backend *lens_backend_of_device(lens_device dev)
{
    switch (dev) {
    case LENS_CPU: return lens_backend_cpu();
    case LENS_SIM: return lens_backend_sim();
    case LENS_CUDA: return lens_backend_cuda(NULL);
    }
    return NULL;
}

/* The default, once chosen (NULL: choose again by the rule at the next call). The
 * engine calls this from one thread at a time, as it does the backends. */
static const lens_backend *chosen;

/* $LENS_DEVICE when set (a bad value falls back to cpu with a warning, since a
 * default cannot fail), else cuda when usable, else cpu. */
static const lens_backend *by_rule(void)
{
    const char *env = getenv("LENS_DEVICE");
    if (env && *env) {
        lens_error err;
        const lens_backend *be = lens_backend_by_name(env, &err);
        if (be) return be;
        fprintf(stderr, "lens: LENS_DEVICE=%s: %s; using the cpu\n", env, err.msg);
        return lens_backend_cpu();
    }
    const lens_backend *cuda = complete(lens_backend_cuda(NULL), NULL);
    return cuda ? cuda : lens_backend_cpu();
}

const lens_backend *lens_backend_default(void)
{
    if (!chosen) chosen = by_rule();
    return chosen;
}

int lens_backend_select(const char *name, lens_error *err)
{
    if (!name) {
        chosen = NULL;
        return 0;
    }
    const lens_backend *be = lens_backend_by_name(name, err);
    if (!be) return -1;
    chosen = be;
    return 0;
}
