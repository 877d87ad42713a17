/* kernel/lang/getenv_policy.c — the allow-list of environment variables a cell
 * may read with getenv (getenv_policy.h). Owns matching a name against the default
 * list and $LENS_GETENV_ALLOW; does not own getenv itself (builtins_io.c). Secrets
 * a launcher may have put in the environment (HF_TOKEN, cloud credentials, the
 * Jupyter server's token) are outside the default list, so a notebook cannot read
 * them unless whoever starts the kernel names them. */
#include "getenv_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does name match one entry of the comma-separated list (exact, or a prefix when
 * the entry ends in '*')? Blank entries and spaces around entries are ignored. */
static bool list_allows(const char *list, const char *name)
{
    size_t name_len = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *e = p;
        while (n && (*e == ' ' || *e == '\t')) { e++; n--; }
        while (n && (e[n - 1] == ' ' || e[n - 1] == '\t')) n--;
        if (n && e[n - 1] == '*') {
            if (name_len >= n - 1 && !strncmp(name, e, n - 1)) return true;
        } else if (n && n == name_len && !strncmp(name, e, n)) {
            return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

bool lang_getenv_allowed(const char *name)
{
    if (!name || !*name) return false;
    return list_allows(LANG_GETENV_DEFAULT_ALLOW, name) || list_allows(getenv("LENS_GETENV_ALLOW"), name);
}

void lang_getenv_refusal(char *out, size_t size, const char *name)
{
    const char *extra = getenv("LENS_GETENV_ALLOW");
    bool more = extra && *extra;
    snprintf(out, size,
             "getenv('%.200s') is not allowed: a cell may read only the environment variables "
             "of the allow-list %s%s%.500s (start the kernel with LENS_GETENV_ALLOW=NAME,PREFIX* to allow more)",
             name, LANG_GETENV_DEFAULT_ALLOW, more ? "," : "", more ? extra : "");
}
