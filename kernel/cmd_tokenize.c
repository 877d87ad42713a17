/* cmd_tokenize.c — `lens tokenize MODEL_DIR TEXT [--prepend-bos]`: prints the
 * GPT-2 token ids of TEXT as a JSON list on one line, using MODEL_DIR/vocab.json
 * and MODEL_DIR/merges.txt only (the weights are not needed). Errors go to stderr
 * with exit status 1; usage errors exit 2. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "lens/tokenizer.h"

static int tokenize_usage(FILE *f)
{
    fprintf(f, "usage: lens tokenize MODEL_DIR TEXT [--prepend-bos]\n"
               "  prints the token ids of TEXT as a JSON list, using MODEL_DIR/vocab.json\n"
               "  and MODEL_DIR/merges.txt; --prepend-bos puts <|endoftext|> first.\n"
               "  Use -- before TEXT when it starts with '-'.\n");
    return 2;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *positional[2];
    int n_positional = 0, prepend_bos = 0, options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && !strcmp(a, "--")) options_done = 1;
        else if (!options_done && !strcmp(a, "--prepend-bos")) prepend_bos = 1;
        else if (!options_done && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
            tokenize_usage(stdout);
            return 0;
        } else if (!options_done && a[0] == '-' && a[1]) {
            fprintf(stderr, "lens tokenize: unknown option '%s'\n", a);
            return tokenize_usage(stderr);
        } else if (n_positional < 2) positional[n_positional++] = a;
        else {
            fprintf(stderr, "lens tokenize: unexpected argument '%s' (quote TEXT as one argument)\n", a);
            return tokenize_usage(stderr);
        }
    }
    if (n_positional != 2) return tokenize_usage(stderr);

    const char *dir = positional[0], *text = positional[1];
    size_t dlen = strlen(dir);
    char *vocab = malloc(dlen + 16), *merges = malloc(dlen + 16);
    if (!vocab || !merges) {
        free(vocab);
        free(merges);
        fprintf(stderr, "lens tokenize: out of memory\n");
        return 1;
    }
    snprintf(vocab, dlen + 16, "%s/vocab.json", dir);
    snprintf(merges, dlen + 16, "%s/merges.txt", dir);
    lens_error err = {0};
    lens_tokenizer *tok = lens_tokenizer_load(vocab, merges, &err);
    free(vocab);
    free(merges);
    if (!tok) {
        fprintf(stderr, "lens tokenize: %s\n", err.msg);
        return 1;
    }
    int64_t *ids = NULL;
    size_t n = 0;
    if (lens_tokenizer_encode(tok, text, &ids, &n, &err) < 0) {
        fprintf(stderr, "lens tokenize: %s\n", err.msg);
        lens_tokenizer_free(tok);
        return 1;
    }
    if (prepend_bos && lens_tokenizer_eos(tok) < 0) {
        fprintf(stderr, "lens tokenize: --prepend-bos: the vocabulary has no <|endoftext|> token\n");
        free(ids);
        lens_tokenizer_free(tok);
        return 1;
    }
    putchar('[');
    if (prepend_bos) printf("%" PRId64 "%s", lens_tokenizer_eos(tok), n ? ", " : "");
    for (size_t i = 0; i < n; i++) printf("%s%" PRId64, i ? ", " : "", ids[i]);
    printf("]\n");
    free(ids);
    lens_tokenizer_free(tok);
    return fflush(stdout) == 0 ? 0 : 1;
}
