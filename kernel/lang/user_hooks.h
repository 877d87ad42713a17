/* kernel/lang/user_hooks.h — hook functions written in the language, called
 * inside the forward pass as TransformerLens calls them:
 *
 *     def ablate(act, hook):          # or a lambda, a builtin, a partial
 *         act[:, 3, :] = 0            # in place ...
 *     model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.hook_resid_pre", ablate)])
 *     model.run_with_hooks(tokens, fwd_hooks=[(lambda name: name.endswith("hook_z"),
 *                                              lambda act, hook: act * 0)])   # ... or a replacement
 *
 * fn(activation, hook) gets a view of the activation (changes reach the rest
 * of the pass) and a HookPoint (hook.name, hook.layer()); it returns None or a
 * tensor of the activation's shape that replaces it. Views it keeps stay valid
 * after the run (they hold a copy then).
 *
 * Owns: resolving (name or name filter, fn) pairs against a model's hook
 * names, the engine hook_fn that applies lens interventions then the user's
 * functions in order, the HookPoint type, and naming the hook point in an
 * error raised inside a hook.
 * Does not own: the forward pass (engine), the model's permanent hook list
 * (builtins_model.c keeps it), interventions (builtins_patching.c).
 */
#ifndef LANG_USER_HOOKS_H
#define LANG_USER_HOOKS_H

#include "lens/model.h"
#include "lens/patching.h"
#include "value.h"

typedef struct user_hook {
    char name[128];   /* a full hook name */
    value *fn;        /* owned reference */
} user_hook;

typedef struct user_hooks {
    interp *I;
    const lens_config *cfg;
    user_hook *items;
    int n, cap;
    const lens_intervention_set *interventions;   /* applied first at each hook point; may be NULL */
    char failed_at[128];                          /* the hook point where a function raised, "" if none */
} user_hooks;

/* Appends the hooks of a list of (name_or_filter, fn) pairs; `what` names the
 * argument in errors ("fwd_hooks"). A filter is called once per hook name of
 * the model, before the run. 0, or -1 with an error raised. */
int lang_user_hooks_add_list(user_hooks *h, value *pairs, const char *what);
/* Appends one (name_or_filter, fn) hook. */
int lang_user_hooks_add(user_hooks *h, value *name_or_filter, value *fn);
void lang_user_hooks_free(user_hooks *h);

extern const lang_builtin builtins_user_hooks[];   /* HookPoint.layer */

/* lens_run_options.hook_fn; ctx is a user_hooks. */
int lang_user_hooks_run(void *ctx, const char *hook_name, lens_tensor *activation, lens_error *err);

/* After a run failed inside a hook function: the pending language error gets
 * the hook point in its message. Returns NULL (for `return`). */
value *lang_user_hooks_raise(user_hooks *h);

#endif
