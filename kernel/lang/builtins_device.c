/* kernel/lang/builtins_device.c — where tensors live, in the language:
 * tensor.device, Tensor.to(device), .cuda(), .cpu(), .numpy(), over the engine's
 * registry (engine/backend.h) and transfers (lens_tensor_to_device).
 *
 * Owns: the device names the language accepts and what .cuda() means on a
 * machine without a GPU. Does not own: the transfers (engine/tensor_device.c) or
 * which device a model runs on (load(..., device=...), builtins_model.c). */
#include <string.h>

#include "../../engine/backend.h"
#include "builtins.h"
#include "builtins_analysis.h"
#include "builtins_device.h"

value *lang_tensor_device(const lens_tensor *t) { return v_str(lens_device_name(lens_tensor_device(t))); }

static value *moved(interp *I, value *self, const lens_backend *be)
{
    lens_tensor *t = self->u.tensor.t;
    if (lens_tensor_device(t) == (be ? be->device : LENS_CPU)) return lang_incref(self);
    lens_error err;
    lens_tensor *r = lens_tensor_to_device(t, be, &err);
    return r ? v_tensor(r) : lang_engine_error(I, &err);
}

value *lang_tensor_to_device(interp *I, value *self, const char *device)
{
    if (!strcmp(device, "cuda") || !strcmp(device, "cuda:0")) return lang_tensor_cuda(I, self, NULL);
    lens_error err;
    const lens_backend *be = lens_backend_by_name(device, &err);
    if (!be) return lang_engine_error(I, &err);
    return moved(I, self, be->host_addressable ? NULL : be);
}

lens_tensor *lang_engine_tensor(interp *I, value *v, int dtype)
{
    lens_tensor *t = lang_tensor_from_value(I, v, dtype);
    if (!t || lens_tensor_on_host(t)) return t;
    lens_error err;
    lens_tensor *h = lens_tensor_host(t, &err);
    lens_tensor_free(t);
    if (!h) lang_engine_error(I, &err);
    return h;
}

int lang_device_arg(interp *I, value *v, const char **device)
{
    *device = NULL;
    if (!v || v->type == V_NONE) return 0;
    if (v->type != V_STR) {
        lang_raise(I, "TypeError", "device must be a string such as 'cpu', 'cuda' or 'sim', not %s", lang_type_name(v));
        return -1;
    }
    const char *name = !strcmp(v->u.str.s, "cuda:0") ? "cuda" : v->u.str.s;
    lens_error err;
    if (!lens_backend_by_name(name, &err)) {
        lang_engine_error(I, &err);
        return -1;
    }
    *device = name;
    return 0;
}

value *lang_tensor_cpu(interp *I, value *self, args *a)
{
    (void)a;
    return moved(I, self, NULL);
}

value *lang_tensor_cuda(interp *I, value *self, args *a)
{
    (void)a;
    const lens_backend *be = lens_backend_default();
    return moved(I, self, be->host_addressable ? NULL : be);
}
