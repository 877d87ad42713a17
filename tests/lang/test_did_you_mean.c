/* tests/lang/test_did_you_mean.c — misspelt names, builtins, attributes,
 * cache keys and hook names get Python's "Did you mean: 'x'?"; names with
 * nothing close get the plain error. */
#include "../harness.h"
#include "lang_test_util.h"

static lang_session *s;
static lang_error err;

static const char *run(const char *code) { return cell(s, code, NULL, &err); }

static void test_names_and_builtins(void)
{
    run("logit_difference = 3");
    CHECK(!strcmp(run("logit_diference"), "ERROR NameError: name 'logit_diference' is not defined. "
                                          "Did you mean: 'logit_difference'?"), "%s", run("logit_diference"));
    CHECK(!strcmp(run("imshw([[1]])"), "ERROR NameError: name 'imshw' is not defined. Did you mean: 'imshow'?"),
          "%s", run("imshw([[1]])"));
    CHECK(!strcmp(run("qqqqqq"), "ERROR NameError: name 'qqqqqq' is not defined"), "%s", run("qqqqqq"));
}

static void test_attributes(void)
{
    CHECK(!strcmp(run("model.cfg.n_layer"), "ERROR AttributeError: 'HookedTransformerConfig' object has no "
                                            "attribute 'n_layer'. Did you mean: 'n_layers'?"), "%s", run("model.cfg.n_layer"));
    CHECK(!strcmp(run("model.to_str_token"), "ERROR AttributeError: 'HookedTransformer' object has no "
                                             "attribute 'to_str_token'. Did you mean: 'to_str_tokens'?"), "%s", "");
    CHECK(!strcmp(run("logits.sahpe"), "ERROR AttributeError: 'Tensor' object has no attribute 'sahpe'. "
                                       "Did you mean: 'shape'?"), "%s", run("logits.sahpe"));
}

static void test_cache_keys_and_hook_names(void)
{
    CHECK(!strcmp(run("cache['patern', 0]"),
                  "ERROR KeyError: 'blocks.0.hook_patern' is not in the cache. Did you mean: 'pattern'? "
                  "(cache.keys() lists what is; names_filter may have left it out)"), "%s", run("cache['patern', 0]"));
    CHECK(!strcmp(run("cache['blocks.1.hook_resid_psot']"),
                  "ERROR KeyError: 'blocks.1.hook_resid_psot' is not in the cache. Did you mean: "
                  "'blocks.1.hook_resid_post'? (cache.keys() lists what is; names_filter may have left it out)"),
          "%s", run("cache['blocks.1.hook_resid_psot']"));
    const char *r = run("model.run_with_cache(tokens, hooks=[zero_ablate('resid_pr', layer=1)])");
    CHECK(strstr(r, "\"blocks.1.hook_resid_pr\" is not a hook point of this model. "
                    "Did you mean: 'blocks.1.hook_resid_pre'?") != NULL, "%s", r);
}

int main(void)
{
    s = lang_session_new();
    CHECK(!strcmp(run("model = load('tests/fixtures/tiny-gpt2')\ntokens = model.to_tokens('When John and Mary')\n"
                      "logits, cache = model.run_with_cache(tokens)"), ""), "%s", err.evalue);
    RUN(test_names_and_builtins);
    RUN(test_attributes);
    RUN(test_cache_keys_and_hook_names);
    lang_error_clear(&err);
    lang_session_free(s);
    return harness_summary();
}
