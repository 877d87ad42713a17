/* main.c — the `lens` program: dispatches a subcommand to its cmd_* function. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "lens/model.h"

/* `lens resolve NAME`: prints the model directory a name or path resolves to. */
static int cmd_resolve(int argc, char **argv)
{
    char dir[4096];
    if (argc != 2) {
        fprintf(stderr, "usage: lens resolve MODEL\n");
        return 2;
    }
    if (!lens_model_resolve(argv[1], dir, sizeof dir)) {
        fprintf(stderr, "lens resolve: model \"%s\" not found\n", argv[1]);
        return 1;
    }
    printf("%s\n", dir);
    return 0;
}

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} commands[] = {
    {"run", cmd_run, "run FILE.lens | -   run a program in the lens language, printing its values"},
    {"download", cmd_download, "download MODEL [--revision REV]   fetch gpt2-small (-medium, -large, -xl) or\n"
                               "        distilgpt2 from the Hugging Face Hub into its cache"},
    {"resolve", cmd_resolve, "resolve MODEL   print the directory a model name or path resolves to"},
    {"tokenize", cmd_tokenize, "tokenize MODEL_DIR TEXT [--prepend-bos]   print token ids as JSON"},
    {"cache", cmd_cache, "cache MODEL_DIR --prompt TEXT ... [--processing raw|default|refactor]\n"
                         "        [--names REGEX] --out FILE.safetensors   write every activation"},
    {"kernel", cmd_kernel, "kernel -f CONNECTION_FILE   run as a Jupyter kernel"},
    {"random-model", cmd_random_model, "random-model --like gpt2-small [--tokenizer DIR] OUT_DIR\n"
                                       "        write a random-weight model directory"},
    {"docs", cmd_docs, "docs   print docs/LANGUAGE.md (the language, its modules and builtins)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: lens COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
    lens_exec_with_passive_threads(argv);
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "lens: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
