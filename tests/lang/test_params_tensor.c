/* tests/lang/test_params_tensor.c — the tensor and einops builtins' argument
 * specs: keyword calls as TransformerLens notebooks write them (values checked
 * against torch, numpy and einops), Python's messages for calls the spec
 * refuses, the signatures spelled as upstream's, and every entry of the two
 * tables having a spec. */
#include <string.h>

#include "builtins.h"
#include "cell_cases.h"
#include "namespaces.h"

static void test_keyword_calls_as_notebooks_write_them(void)
{
    static const cell_case cases[] = {
        {"import torch\nimport numpy as np\nimport einops\nimport torch.nn.functional as F\n"
         "x = torch.arange(6).reshape(2, 3).float()", ""},
        /* reductions: torch's dim/keepdim, numpy's axis, torch.f(x, ...) through the method */
        {"x.sum(dim=-1, keepdim=True).tolist()", "[[3.0], [12.0]]"},
        {"x.sum(1).tolist()", "[3.0, 12.0]"},
        {"x.sum(axis=1).tolist()", "[3.0, 12.0]"},
        {"torch.sum(x, dim=0).tolist()", "[3.0, 5.0, 7.0]"},
        {"np.sum(x, axis=0).tolist()", "[3.0, 5.0, 7.0]"},
        {"x.sum(dtype=torch.int64).item()", "15"},
        {"x.mean(dim=(0, 1)).item()", "2.5"},
        {"torch.mean(x, dim=1, keepdim=True).shape", "torch.Size([2, 1])"},
        {"x.max(dim=1, keepdim=False).indices.tolist()", "[2, 2]"},
        {"x.std(dim=0, keepdim=True).tolist()", "[[2.1213202476501465, 2.1213202476501465, 2.1213202476501465]]"},
        {"round(x.norm(p=2).item(), 4)", "7.4162"},
        {"x.norm(dim=-1, keepdim=True).shape", "torch.Size([2, 1])"},
        {"x.cumsum(dim=1).tolist()", "[[0.0, 1.0, 3.0], [3.0, 7.0, 12.0]]"},
        {"torch.cumsum(x, dim=0).tolist()", "[[0.0, 1.0, 2.0], [3.0, 5.0, 7.0]]"},
        {"np.cumsum(x, axis=1).tolist()", "[[0.0, 1.0, 3.0], [3.0, 7.0, 12.0]]"},
        {"x.long().cumsum(0, dtype=torch.float32).tolist()", "[[0.0, 1.0, 2.0], [3.0, 5.0, 7.0]]"},
        /* topk, softmax */
        {"torch.topk(x, k=2, dim=-1).indices.tolist()", "[[2, 1], [2, 1]]"},
        {"x.topk(1, dim=0, largest=False, sorted=True).values.tolist()", "[[0.0, 1.0, 2.0]]"},
        {"torch.allclose(torch.softmax(x, dim=-1).sum(-1), torch.ones(2))", "True"},
        {"F.log_softmax(x, dim=0, dtype=torch.float32).shape", "torch.Size([2, 3])"},
        {"x.softmax(dim=0, dtype=torch.float32).shape", "torch.Size([2, 3])"},
        /* creation */
        {"torch.arange(5).tolist()", "[0, 1, 2, 3, 4]"},
        {"torch.arange(start=1, end=7, step=2).tolist()", "[1, 3, 5]"},
        {"torch.arange(end=3).tolist()", "[0, 1, 2]"},
        {"torch.arange(0, 1, 0.5).tolist()", "[0.0, 0.5]"},
        {"torch.zeros(2, 3, dtype=torch.int64).tolist()", "[[0, 0, 0], [0, 0, 0]]"},
        {"torch.ones((2,), device='cpu').tolist()", "[1.0, 1.0]"},
        {"torch.full(size=(2,), fill_value=7.0).tolist()", "[7.0, 7.0]"},
        {"torch.linspace(0, 1, steps=3).tolist()", "[0.0, 0.5, 1.0]"},
        {"torch.eye(2, dtype=torch.int64).tolist()", "[[1, 0], [0, 1]]"},
        /* combining */
        {"torch.cat(tensors=[x, x], dim=1).shape", "torch.Size([2, 6])"},
        {"torch.stack([x, x], dim=0).shape", "torch.Size([2, 2, 3])"},
        {"torch.einsum('ij,ij->i', x, x).tolist()", "[5.0, 50.0]"},
        {"torch.where(x > 2, x, torch.zeros(2, 3)).tolist()", "[[0.0, 0.0, 0.0], [3.0, 4.0, 5.0]]"},
        {"torch.matmul(input=x, other=x.T).tolist()", "[[5.0, 14.0], [14.0, 50.0]]"},
        {"torch.exp(input=torch.zeros(2)).tolist()", "[1.0, 1.0]"},
        /* shapes, devices, dtypes */
        {"x.to(dtype=torch.int64).tolist()", "[[0, 1, 2], [3, 4, 5]]"},
        {"x.to('cpu', torch.int64).tolist()", "[[0, 1, 2], [3, 4, 5]]"},
        {"x.to(device='cpu').shape", "torch.Size([2, 3])"},
        {"x.cuda(0).shape", "torch.Size([2, 3])"},
        {"x.cuda(device='cuda:0').shape", "torch.Size([2, 3])"},
        {"x.permute(1, 0).shape", "torch.Size([3, 2])"},
        {"x.reshape((3, 2)).shape", "torch.Size([3, 2])"},
        {"x.view(-1).shape", "torch.Size([6])"},
        {"x.expand(2, 2, 3).shape", "torch.Size([2, 2, 3])"},
        {"x.unsqueeze(dim=0).squeeze(dim=0).shape", "torch.Size([2, 3])"},
        {"x.size(dim=1)", "3"},
        {"x.gather(dim=1, index=torch.tensor([[0], [2]])).tolist()", "[[0.0], [5.0]]"},
        {"x.index_select(dim=0, index=torch.tensor([1])).tolist()", "[[3.0, 4.0, 5.0]]"},
        {"x.tril(diagonal=0).tolist()", "[[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]]"},
        {"x.masked_fill(mask=x > 3, value=-1.0).tolist()", "[[0.0, 1.0, 2.0], [3.0, -1.0, -1.0]]"},
        /* einops: tensor and pattern by keyword too; the other keywords are axis sizes */
        {"einops.rearrange(x, 'a b -> b a').shape", "torch.Size([3, 2])"},
        {"einops.rearrange(tensor=x, pattern='(p a) b -> p a b', p=1).shape", "torch.Size([1, 2, 3])"},
        {"einops.reduce(x, 'a b -> a', reduction='sum').tolist()", "[3.0, 12.0]"},
        {"einops.repeat(x, 'a b -> a b c', c=2).shape", "torch.Size([2, 3, 2])"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_calls_the_spec_refuses(void)
{
    static const cell_case cases[] = {
        {"import torch\nimport einops\nx = torch.ones(2, 3)", ""},
        {"x.sum(dimm=0)", "ERROR TypeError: sum() got an unexpected keyword argument 'dimm'"},
        {"x.sum(0, True, 1)", "ERROR TypeError: sum() takes at most 2 positional arguments (3 given)"},
        {"torch.topk(x)", "ERROR TypeError: topk() missing required argument 'k'"},
        {"torch.topk(x, 1, k=1)", "ERROR TypeError: topk() got multiple values for argument 'k'"},
        {"x.softmax()", "ERROR TypeError: softmax() missing required argument 'dim'"},
        {"torch.softmax(x)", "ERROR TypeError: softmax() missing required argument 'dim'"},
        {"x.abs(1)", "ERROR TypeError: abs() takes at most 0 positional arguments (1 given)"},
        {"torch.zeros(2, size=3)", "ERROR TypeError: zeros() got an unexpected keyword argument 'size'"},
        {"torch.arange()", "ERROR TypeError: arange() missing required argument 'end'"},
        {"torch.arange(step=2)", "ERROR TypeError: arange() missing required argument 'end'"},
        /* torch's second positional of std is unbiased, which lens does not take */
        {"x.std(0, True)", "ERROR TypeError: std() takes at most 1 positional argument (2 given)"},
        {"x.cumsum()", "ERROR TypeError: cumsum() missing required argument 'dim'"},
        {"torch.exp([1.0])", "ERROR TypeError: exp() argument 'input' must be a tensor, not list"},
        {"torch.einsum('ij')", "ERROR TypeError: einsum() needs at least one operand after the equation"},
        {"x.norm(1)", "ERROR NotImplementedError: norm(): lens computes the 2-norm only (p=2 or p='fro')"},
        {"x.to(3)", "ERROR TypeError: device must be a string such as 'cpu', 'cuda' or 'sim', not int"},
        {"x.to(float, dtype=torch.int64)", "ERROR TypeError: to() got two dtypes"},
        {"x.cuda(1)", "ERROR ValueError: cuda(): lens computes on one device, cuda:0 (device=0)"},
        {"torch.mean(x, dimm=0)", "ERROR TypeError: mean() got an unexpected keyword argument 'dimm'"},
        {"einops.reduce(x, 'a b -> a')", "ERROR TypeError: reduce() missing required argument 'reduction'"},
        {"einops.rearrange(x, 'a b -> b a', 'sum')", "ERROR TypeError: rearrange() takes at most 2 positional arguments (3 given)"},
        {"einops.rearrange(x, 'a b -> b a', q=3)", "ERROR ValueError: rearrange(): axis q is not in the pattern"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_signatures_are_upstream_s(void)
{
    static const struct { const char *name, *want; } sigs[] = {
        {"zeros", "zeros(*size, dtype=None, device=None)"},
        {"arange", "arange(start=0, end=None, step=1, *, dtype=None, device=None)"},
        {"topk", "topk(input, k, dim=-1, largest=True, sorted=True)"},
        {"softmax", "softmax(input, dim, dtype=None)"},
        {"cat", "cat(tensors, dim=0)"},
        {"einsum", "einsum(equation, *operands)"},
        {"where", "where(condition, input, other)"},
        {"Tensor.sum", "Tensor.sum(dim=None, keepdim=False, *, dtype=None, axis=None)"},
        {"Tensor.topk", "Tensor.topk(k, dim=-1, largest=True, sorted=True)"},
        {"Tensor.reshape", "Tensor.reshape(*shape)"},
        {"Tensor.to", "Tensor.to(device=None, dtype=None)"},
        {"Tensor.abs", "Tensor.abs()"},
        {"einops.rearrange", "einops.rearrange(tensor, pattern, **axes_lengths)"},
        {"einops.reduce", "einops.reduce(tensor, pattern, reduction, **axes_lengths)"},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        const lang_builtin *b = lang_builtin_find(sigs[i].name);
        CHECK(b && !strcmp(lang_builtin_signature(b, buf, sizeof buf), sigs[i].want), "%s: %s", sigs[i].name, b ? buf : "not found");
    }
}

int main(void)
{
    RUN(test_keyword_calls_as_notebooks_write_them);
    RUN(test_calls_the_spec_refuses);
    RUN(test_signatures_are_upstream_s);
    return harness_summary();
}
