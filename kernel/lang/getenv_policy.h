/* kernel/lang/getenv_policy.h — which environment variables a cell's getenv may
 * read. Owns the allow-list rule and its wording; does not own the getenv builtin
 * (builtins_io.c) or the kernel's own reading of its settings (those read the
 * environment directly). */
#ifndef LANG_GETENV_POLICY_H
#define LANG_GETENV_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/* The names every kernel allows: entries separated by commas, each an exact name
 * or a prefix ending in '*'. */
#define LANG_GETENV_DEFAULT_ALLOW \
    "LENS_*,HOME,USER,LOGNAME,LANG,LC_ALL,LC_CTYPE,TZ,TMPDIR,HF_HOME,HF_HUB_CACHE,XDG_CACHE_HOME"

/* true when a cell may read the variable name: it matches an entry of the default
 * list or of $LENS_GETENV_ALLOW (more entries in the same form, read at each call). */
bool lang_getenv_allowed(const char *name);

/* The error for a name that is not allowed, naming the rule (into out, size bytes). */
void lang_getenv_refusal(char *out, size_t size, const char *name);

#endif
