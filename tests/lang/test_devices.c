/* tests/lang/test_devices.c — devices in the language: tensor.device names where
 * the values live, .to("sim") moves them to the simulated device and .cpu() /
 * .numpy() / .to("cpu") bring them back; arithmetic, reductions, matmul,
 * printing, tolist, indexing and item() work on device tensors (the values
 * downloaded explicitly where host code reads them); what is computed on the
 * host (topk, sort, gather, where, masked_fill, tril, ...) comes back on the
 * device with the cpu's values; mixed devices raise
 * torch's error; .cuda() / .to("cuda") move to the device lens computes on, and
 * keep the tensor where it is on a machine without one; an unknown device name
 * is a ValueError; load(..., device=...) refuses unknown and absent devices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/backend.h"
#include "../harness.h"
#include "lang_test_util.h"

static lang_session *S;

static const char *run(const char *code)
{
    lang_error err = {0};
    capture c;
    const char *r = cell(S, code, &c, &err);   /* a static buffer: err's copy of the message is not needed */
    lang_error_clear(&err);
    return r;
}

static void expect(const char *code, const char *want)
{
    const char *got = run(code);
    CHECK(!strcmp(got, want), "%s\n    got:  %s\n    want: %s", code, got, want);
}

static void test_moving_tensors(void)
{
    expect("x = arange(6).reshape(2, 3).float()\nx.device", "'cpu'");
    expect("d = x.to('sim')\nd.device", "'sim'");
    expect("d.cpu().device, d.numpy().device, d.to('cpu').device, d.to(device='cpu').device", "('cpu', 'cpu', 'cpu', 'cpu')");
    expect("d.to('sim') is d, x.cpu() is x", "(True, True)");
    expect("d", "tensor([[0., 1., 2.],\n        [3., 4., 5.]], device='sim')");
    expect("d.tolist()", "[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]");
    expect("x.to('tpu')", "ERROR ValueError: unknown device 'tpu': the devices are 'cpu', 'cuda' and 'sim'");
}

static void test_computing_on_the_device(void)
{
    expect("y = (d * 2 + 1).sum(-1)\ny.device, y.cpu().tolist()", "('sim', [9.0, 27.0])");
    expect("(d @ d.T).device, (d @ d.T).cpu().tolist()", "('sim', [[5.0, 14.0], [14.0, 50.0]])");
    expect("d.softmax(-1).device, round(d.softmax(-1)[0, 2].item(), 4)", "('sim', 0.6652)");
    expect("d.max().item(), d[1, 2].item(), d.mean().item()", "(5.0, 5.0, 2.5)");
    expect("(d > 2).device, (d > 2).cpu().tolist()", "('sim', [[False, False, False], [True, True, True]])");
    expect("topk(d.flatten(), 2).values.tolist()", "[5.0, 4.0]");
    expect("i = arange(3).to('sim')\n[10, 20, 30, 40][i[1]]", "20");
    expect("d + x", "ERROR RuntimeError: Expected all tensors to be on the same device, but found at least two devices, sim and cpu!");
}

/* Operations the engine computes on the host return their results on the inputs'
 * device, as torch does, with the values the cpu gives. */
static void test_host_computed_results_stay_on_the_device(void)
{
    static const char *const ops[] = {
        "topk(X.flatten(), 4).values", "topk(X.flatten(), 4).indices", "topk(X, 2, largest=False).indices",
        "X.sort(-1, descending=True).values", "X.sort(0).indices", "X.argsort(-1)",
        "X.gather(1, tensor([[2], [0]]))", "X.gather(1, tensor([[2], [0]]).to(X.device))",
        "where(X > 2, X, -X)", "where(X > 2, X, 0.5)", "X.masked_fill(X > 2, -1.0)", "X[X > 2]",
        "X.tril()", "X.triu(1)", "X.long() // 2", "X.argmax(-1)", "X.cumsum(-1)", "X.var(-1)",
        "X.index_select(1, tensor([2, 0]))", "einsum('ij,kj->ik', X, X)", "cat([X, X], 1)", "stack([X, X])",
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        char code[512];
        /* X is d (on the device) then x (its cpu copy) */
        snprintf(code, sizeof code, "X = d\nr = %s\nX = x\nw = %s\nr.device, r.dtype == w.dtype, r.cpu().tolist() == w.tolist()",
                 ops[i], ops[i]);
        const char *got = run(code);
        CHECK(!strcmp(got, "('sim', True, True)"), "%s: %s", ops[i], got);
    }
}

static void test_cuda_means_the_compute_device(void)
{
    const lens_backend *be = lens_backend_default();
    char want[64];
    snprintf(want, sizeof want, "('%s', '%s')", be->host_addressable ? "cpu" : lens_device_name(be->device),
             be->host_addressable ? "cpu" : lens_device_name(be->device));
    expect("x.cuda().device, x.to('cuda').device", want);
    expect("x.cuda().cpu().to('cuda').cpu().tolist()", "[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]");
}

/* Device tensors handed to the model's methods and the analyses: the same results
 * as host ones (the engine reads its arguments downloaded). */
static void test_model_functions_take_device_tensors(void)
{
    expect("m = load('tests/fixtures/tiny-gpt2')\nt = m.to_tokens(['hello world', 'a b c'])\n"
           "l1, c1 = m.run_with_cache(t)\nl2, c2 = m.run_with_cache(t.to('sim'))\n"
           "(l1 - l2).abs().max().item(), m.to_str_tokens(t.to('sim')[0])",
           "(0.0, ['<|endoftext|>', 'hello', ' world', '<|endoftext|>'])");
    expect("ans = tensor([[262, 257]]).to('sim')\n"
           "round(logit_diff(l1[:1], ans.cpu()).item(), 5) == round(logit_diff(l1[:1], ans).item(), 5)",
           "True");
}

/* load(..., device=...) checks the device before it reads anything. */
static void test_load_checks_the_device(void)
{
    expect("load('no-such-model', device='tpu')",
           "ERROR ValueError: unknown device 'tpu': the devices are 'cpu', 'cuda' and 'sim'");
    expect("load('no-such-model', device=3)", "ERROR TypeError: device must be a string such as 'cpu', 'cuda' or 'sim', not int");
    lens_error why;
    if (!lens_backend_cuda(&why)) {
        char want[1200];
        snprintf(want, sizeof want, "ERROR RuntimeError: cuda was asked for but no CUDA device can be used: %s", why.msg);
        expect("load('no-such-model', device='cuda')", want);
    }
    const char *got = run("load('no-such-model', device='sim')");
    CHECK(!strncmp(got, "ERROR OSError: ", 15), "a usable device gets as far as the model's name: %s", got);
}

/* A model loaded on the simulated device runs there: its cache and logits live on
 * the device and hold the host model's numbers. */
static void test_model_on_a_device(void)
{
    expect("ms = load('tests/fixtures/tiny-gpt2', device='sim')\nmh = load('tests/fixtures/tiny-gpt2', device='cpu')\n"
           "ts = ms.to_tokens(['hello world', 'a b c'])\nls, cs = ms.run_with_cache(ts)\nlh, ch = mh.run_with_cache(ts.cpu())\n"
           "ms.cfg.device, mh.cfg.device, ls.device, cs['resid_post', 1].device, lh.device",
           "('sim', 'cpu', 'sim', 'sim', 'cpu')");
    expect("[(ls.cpu() - lh).abs().max().item() < 1e-5, (cs['pattern', 0].cpu() - ch['pattern', 0]).abs().max().item() < 1e-6]",
           "[True, True]");
}

int main(void)
{
    S = lang_session_new();
    RUN(test_moving_tensors);
    RUN(test_computing_on_the_device);
    RUN(test_host_computed_results_stay_on_the_device);
    RUN(test_cuda_means_the_compute_device);
    RUN(test_load_checks_the_device);
    RUN(test_model_functions_take_device_tensors);
    RUN(test_model_on_a_device);
    lang_session_free(S);
    return harness_summary();
}
