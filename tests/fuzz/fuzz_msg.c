/* tests/fuzz/fuzz_msg.c — message handling: the handlers' parsing of header and
 * content for every message type (kernel/handlers.c), in a kernel opened on ipc
 * sockets in a private directory (nothing listens on the network; replies go
 * nowhere). The input is a mode byte (bit 0: control channel, else shell) and four
 * length-prefixed JSON frames: header, parent_header, metadata, content; they are
 * signed with the kernel's key and go through wire_parse like a real message.
 * execute_request code runs under the one-second interrupt and a 256 MiB limit;
 * allow_stdin is forced off (no frontend would answer). */
#include <stdint.h>

#include "fuzz_util.h"
#include "kernel.h"
#include "lens/model.h"

void handlers_dispatch(kernel *k, int channel, void *sock, const wire_msg *req);

static kernel *open_kernel(void)
{
    static kernel k;
    char conn[4096], path[256];
    snprintf(conn, sizeof conn,
             "{\"transport\": \"ipc\", \"ip\": \"%s/k\", \"shell_port\": 1, \"iopub_port\": 2, "
             "\"stdin_port\": 3, \"control_port\": 4, \"hb_port\": 5, \"key\": \"fuzz-key\", "
             "\"signature_scheme\": \"hmac-sha256\"}", fuzz_dir());
    fuzz_file(path, sizeof path, "connection.json", conn, strlen(conn));
    lens_error err;
    if (kernel_open(&k, path, &err)) { fprintf(stderr, "kernel_open: %s\n", err.msg); abort(); }
    lens_set_memory_limit((size_t)256 << 20);
    return &k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kernel *k;
    if (!k) k = open_kernel();
    if (size < 1) return 0;
    int mode = data[0];
    data++; size--;
    wire_blob frames[7];
    frames[0] = (wire_blob){(unsigned char *)"client", 6};
    frames[1] = (wire_blob){(unsigned char *)WIRE_DELIM, 9};
    const char *p[4];
    size_t l[4];
    char *owned[4];
    for (int i = 0; i < 4; i++) {
        const uint8_t *part;
        l[i] = fuzz_take(&data, &size, &part);
        owned[i] = fuzz_cstr(part, l[i]);
        p[i] = owned[i];
        frames[3 + i] = (wire_blob){(unsigned char *)owned[i], l[i]};
    }
    char sig[129];
    wire_sign(k->wire, p, l, sig);
    frames[2] = (wire_blob){(unsigned char *)sig, strlen(sig)};
    wire_msg msg;
    lens_error err;
    if (wire_parse(k->wire, frames, 7, &msg, &err) == 0) {
        if (!strcmp(msg.msg_type, "execute_request")) {
            cJSON_DeleteItemFromObjectCaseSensitive(msg.content, "allow_stdin");
            cJSON_AddFalseToObject(msg.content, "allow_stdin");
        }
        atomic_store(&k->shutting_down, false);
        fuzz_arm(1000);
        handlers_dispatch(k, (mode & 1) ? CHANNEL_CONTROL : CHANNEL_SHELL, (mode & 1) ? k->control : k->shell, &msg);
        fuzz_disarm();
        k->interrupted = 0;
        wire_msg_clear(&msg);
    }
    for (int i = 0; i < 4; i++) free(owned[i]);
    return 0;
}
