/* lens/tokenizer.h — GPT-2's byte-level BPE tokenizer.
 *
 * Loaded from a Hugging Face vocab.json + merges.txt. Pre-tokenisation uses
 * GPT-2's pattern with Unicode letter/number classes (PCRE2, UTF + UCP), then
 * byte-level BPE by merge rank, exactly like the reference encoders.
 *
 *     lens_tokenizer *tok = lens_tokenizer_load("vocab.json", "merges.txt", &err);
 *     int64_t *ids; size_t n;
 *     lens_tokenizer_encode(tok, "Hello world", &ids, &n, &err);  // [15496, 995]
 *     free(ids);
 *     lens_tokenizer_free(tok);
 */
#ifndef LENS_TOKENIZER_H
#define LENS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "lens/error.h"

typedef struct lens_tokenizer lens_tokenizer;

lens_tokenizer *lens_tokenizer_load(const char *vocab_json_path, const char *merges_path,
                                    lens_error *err);
void lens_tokenizer_free(lens_tokenizer *tok);

int64_t lens_tokenizer_vocab_size(const lens_tokenizer *tok);
/* <|endoftext|> (50256 for GPT-2); used as BOS, EOS and padding. */
int64_t lens_tokenizer_eos(const lens_tokenizer *tok);

/* Encodes UTF-8 text (no BOS added) into a malloc'd array of ids. Text that is
 * not valid UTF-8 is an error. The literal "<|endoftext|>" in text is encoded as
 * the special token, as Hugging Face does. */
int lens_tokenizer_encode(const lens_tokenizer *tok, const char *text, int64_t **ids,
                          size_t *n, lens_error *err);

/* Like lens_tokenizer_encode, but "<|endoftext|>" in the text is ordinary text
 * (tokenised as "<", "|", "endoftext", ...), as the reference JavaScript and
 * Python encoders do when special tokens are not allowed. */
int lens_tokenizer_encode_ordinary(const lens_tokenizer *tok, const char *text, int64_t **ids,
                                   size_t *n, lens_error *err);

/* The text of one token (its bytes, e.g. " John"), or NULL for an id out of range.
 * Owned by tok. A token whose bytes are not valid UTF-8 on their own is returned
 * with the invalid bytes replaced by U+FFFD. */
const char *lens_tokenizer_token_str(const lens_tokenizer *tok, int64_t id);

/* Decodes ids into malloc'd UTF-8 text (invalid sequences replaced by U+FFFD);
 * NULL on an id out of range (err filled). */
char *lens_tokenizer_decode(const lens_tokenizer *tok, const int64_t *ids, size_t n,
                            lens_error *err);

/* The id of a vocabulary entry given in its byte-level form, or -1. */
int64_t lens_tokenizer_lookup(const lens_tokenizer *tok, const char *text);

#endif
