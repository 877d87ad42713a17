/* kernel/lang/builtins_device.h — devices in the language (builtins_device.c):
 * tensor.device, Tensor.to(device), .cuda(), .cpu(), .numpy(). */
#ifndef LANG_BUILTINS_DEVICE_H
#define LANG_BUILTINS_DEVICE_H

#include "value.h"

/* "cpu", "cuda" or "sim": where t's values live (torch's device.type). */
value *lang_tensor_device(const lens_tensor *t);
/* self moved to the named device (itself when it is there already); "cuda"
 * means what .cuda() does; an unknown name is a ValueError naming the devices. */
value *lang_tensor_to_device(interp *I, value *self, const char *device);
/* load(..., device=v): NULL in *device for None (the process default), else the
 * name, checked against the registry: 0, or -1 with the error raised (a
 * ValueError for an unknown name, a RuntimeError when cuda is asked for and no
 * CUDA device can be used). */
int lang_device_arg(interp *I, value *v, const char **device);
/* A tensor argument of an engine function (the model's methods, analyses,
 * patching, attention views, figures): tensor_from_value's tensor, on the host
 * (downloaded when the value lives on a device), as those functions read their
 * inputs there. NULL with the error raised. */
lens_tensor *lang_engine_tensor(interp *I, value *v, int dtype);
/* Tensor.cpu() / .numpy(): the values on the host. */
value *lang_tensor_cpu(interp *I, value *self, args *a);
/* Tensor.cuda(): to the device lens computes on (the default backend: cuda when
 * a device is present, or $LENS_DEVICE's); on a machine where that is the cpu,
 * the tensor itself, so notebooks written for a GPU run unchanged. */
value *lang_tensor_cuda(interp *I, value *self, args *a);

#endif
