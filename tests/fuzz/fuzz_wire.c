/* tests/fuzz/fuzz_wire.c — the wire parser and signature check (kernel/wire.c).
 * The input is up to 16 frames, each a 2-byte little-endian length and its bytes,
 * after one mode byte: bit 0 checks signatures with a key (bit 1 then re-signs the
 * four JSON frames correctly, so parsing goes past the signature check), else no
 * key. A parsed message is serialized again and the frames parsed back. */
#include <stdint.h>

#include "fuzz_util.h"
#include "wire.h"

#define MAX_FRAMES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wire_ctx *keyed, *open_ctx;
    if (!keyed) {
        keyed = wire_ctx_new("fuzz-key", "sha256", NULL);
        open_ctx = wire_ctx_new("", "sha256", NULL);
        if (!keyed || !open_ctx) abort();
    }
    if (size < 1) return 0;
    int mode = data[0];
    data++; size--;
    wire_blob frames[MAX_FRAMES];
    int n = 0;
    while (size > 0 && n < MAX_FRAMES) {
        const uint8_t *part;
        size_t len = fuzz_take(&data, &size, &part);
        frames[n].data = malloc(len ? len : 1);
        memcpy(frames[n].data, part, len);
        frames[n].len = len;
        n++;
    }
    wire_ctx *w = (mode & 1) ? keyed : open_ctx;
    char sig[129];
    if ((mode & 3) == 3) {
        for (int d = 0; d < n; d++)
            if (frames[d].len == 9 && !memcmp(frames[d].data, WIRE_DELIM, 9) && n - d - 1 >= 5) {
                const char *p[4];
                size_t l[4];
                for (int i = 0; i < 4; i++) { p[i] = (const char *)frames[d + 2 + i].data; l[i] = frames[d + 2 + i].len; }
                wire_sign(w, p, l, sig);
                free(frames[d + 1].data);
                frames[d + 1].len = strlen(sig);
                frames[d + 1].data = malloc(frames[d + 1].len + 1);
                memcpy(frames[d + 1].data, sig, frames[d + 1].len);
                break;
            }
    }
    wire_msg msg;
    lens_error err;
    if (wire_parse(w, frames, n, &msg, &err) == 0) {
        int nf = 0;
        wire_blob *again = wire_serialize(open_ctx, msg.ids, msg.n_ids, msg.header, msg.parent,
                                          msg.metadata, msg.content, &nf);
        if (again) {
            wire_msg back;
            if (wire_parse(open_ctx, again, nf, &back, &err) != 0) {
                fprintf(stderr, "a serialized message does not parse back: %s\n", err.msg);
                abort();
            }
            if (strcmp(back.msg_type, msg.msg_type)) abort();
            wire_msg_clear(&back);
            wire_blobs_free(again, nf);
        }
        wire_msg_clear(&msg);
    }
    for (int i = 0; i < n; i++) free(frames[i].data);
    return 0;
}
