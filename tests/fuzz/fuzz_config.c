/* tests/fuzz/fuzz_config.c — config.json: the input is the file, beside the tiny
 * fixture model's weights and tokenizer (symbolic links into tests/fixtures); a
 * config the loader accepts must match the weights' shapes, and then a two-token
 * forward pass runs. Under a 256 MiB memory limit. Run from the repository root. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "lens/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char model_dir[512];
    if (!model_dir[0]) {
        snprintf(model_dir, sizeof model_dir, "%s/model", fuzz_dir());
        mkdir(model_dir, 0700);
        static const char *const files[] = {"model.safetensors", "vocab.json", "merges.txt"};
        char cwd[PATH_MAX], from[PATH_MAX + 64], to[1024];
        if (!getcwd(cwd, sizeof cwd)) abort();
        for (int i = 0; i < 3; i++) {
            snprintf(from, sizeof from, "%s/tests/fixtures/tiny-gpt2/%s", cwd, files[i]);
            snprintf(to, sizeof to, "%s/%s", model_dir, files[i]);
            if (symlink(from, to) && errno != EEXIST) { perror(to); abort(); }
        }
        lens_set_memory_limit((size_t)256 << 20);
    }
    char path[1024];
    snprintf(path, sizeof path, "model/config.json");
    char full[1100];
    fuzz_file(full, sizeof full, path, data, size);
    lens_error err;
    lens_processing p = lens_processing_default();
    lens_model *m = lens_model_load(model_dir, &p, &err);
    if (!m) return 0;
    lens_tensor *tokens = lens_tensor_new_v(LENS_I64, 2, (int64_t)1, (int64_t)2);
    lens_run_options o = lens_run_options_default();
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    if (tokens && lens_model_run(m, tokens, &o, &logits, &cache, &err) == 0 && !logits) abort();
    lens_tensor_free(logits);
    lens_cache_free(cache);
    lens_tensor_free(tokens);
    lens_model_free(m);
    return 0;
}
