/* cmd_download.c — `lens download MODEL [--revision REV]`: fetches a GPT-2
 * family model's official files from the Hugging Face Hub into the Hugging
 * Face cache, where `load("MODEL")` finds them (hf_download.c does the
 * fetching and checking). Owns the table of downloadable names. Errors go to
 * stderr with exit status 1; usage errors exit 2. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "hf_download.h"

static const struct {
    const char *name;      /* as load() takes it */
    const char *repo;      /* the official Hugging Face repository */
} downloadable[] = {
    {"gpt2-small", "openai-community/gpt2"},
    {"gpt2", "openai-community/gpt2"},
    {"gpt2-medium", "openai-community/gpt2-medium"},
    {"gpt2-large", "openai-community/gpt2-large"},
    {"gpt2-xl", "openai-community/gpt2-xl"},
    {"distilgpt2", "distilbert/distilgpt2"},
};

/* What load() reads from a model folder. */
static const char *const model_files[] = {"config.json", "vocab.json", "merges.txt", "model.safetensors"};

static int download_usage(FILE *f)
{
    fprintf(f, "usage: lens download MODEL [--revision REV]\n"
               "  MODEL: gpt2-small, gpt2-medium, gpt2-large, gpt2-xl or distilgpt2.\n"
               "  Fetches config.json, vocab.json, merges.txt and model.safetensors from the\n"
               "  Hugging Face Hub ($HF_ENDPOINT, default https://huggingface.co; $HF_TOKEN if\n"
               "  set), checks their checksums, and stores them in the Hugging Face cache\n"
               "  ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub), where load(\"MODEL\")\n"
               "  and TransformerLens find them. Prints the snapshot folder.\n");
    return 2;
}

int cmd_download(int argc, char **argv)
{
    const char *name = NULL, *revision = "main";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            download_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--revision") && i + 1 < argc) revision = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "lens download: unknown option '%s'\n", argv[i]);
            return download_usage(stderr);
        } else if (!name) name = argv[i];
        else {
            fprintf(stderr, "lens download: one model at a time\n");
            return download_usage(stderr);
        }
    }
    if (!name) return download_usage(stderr);
    const char *repo = NULL;
    for (size_t i = 0; i < sizeof downloadable / sizeof *downloadable; i++)
        if (!strcmp(name, downloadable[i].name)) repo = downloadable[i].repo;
    if (!repo) {
        fprintf(stderr, "lens download: unknown model '%s' (gpt2-small, gpt2-medium, gpt2-large, "
                        "gpt2-xl, distilgpt2)\n", name);
        return 2;
    }
    char snapshot[4096];
    lens_error err;
    int n = (int)(sizeof model_files / sizeof *model_files);
    if (hf_download(repo, revision, model_files, n, snapshot, sizeof snapshot, &err) != 0) {
        fprintf(stderr, "lens %s\n", err.msg);   /* "download: FILE: what went wrong" */
        return 1;
    }
    fprintf(stderr, "%s (%s) is in the Hugging Face cache; load(\"%s\") finds it\n", name, repo, name);
    printf("%s\n", snapshot);
    return 0;
}
