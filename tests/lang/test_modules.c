/* tests/lang/test_modules.c — the module registry: modules hold members,
 * their attributes resolve in cells, and importing an unknown module names the
 * provided ones. */
#include "../harness.h"
#include "lang_test_util.h"
#include "lang_internal.h"
#include "modules.h"

static void test_registered_module_members_resolve_as_attributes(void)
{
    lang_session *s = lang_session_new();
    value *mod = lang_module_new("demo.sub");
    CHECK(mod && lang_is_module(mod));
    CHECK(lang_module_set(mod, "answer", v_int(42)) == 0);
    CHECK(lang_module_get(mod, "answer") && lang_module_get(mod, "answer")->u.i == 42);
    CHECK(lang_module_get(mod, "missing") == NULL);
    CHECK(lang_module_register(&s->I, lang_incref(mod)) == 0);
    CHECK(lang_dict_set_str(s->I.globals, "m", mod) == 0);
    capture c;
    lang_error err = {0};
    CHECK(!strcmp(cell(s, "m.answer + 1", &c, &err), "43"), "%s", cell(s, "m.answer + 1", &c, &err));
    CHECK(!strcmp(cell(s, "m", &c, &err), "<module 'demo.sub' (lens)>"), "%s", cell(s, "m", &c, &err));
    CHECK(!strncmp(cell(s, "m.nope", &c, &err), "ERROR AttributeError", 20), "%s", cell(s, "m.nope", &c, &err));
    value *again = lang_module_import(&s->I, "demo.sub");
    CHECK(again == mod);
    lang_decref(again);
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_import_of_unknown_module_lists_provided_ones(void)
{
    lang_session *s = lang_session_new();
    lang_dict_free(s->I.modules);   /* without the modules a session provides */
    s->I.modules = NULL;
    CHECK(lang_module_register(&s->I, lang_module_new("zeta")) == 0);
    CHECK(lang_module_register(&s->I, lang_module_new("alpha")) == 0);
    char *names = lang_module_names(&s->I);
    CHECK(names && !strcmp(names, "alpha, zeta"), "%s", names);
    free(names);
    CHECK(lang_module_import(&s->I, "pandas") == NULL);
    CHECK(s->I.error && !strcmp(s->I.ename, "ImportError"));
    CHECK(s->I.emsg && strstr(s->I.emsg, "'pandas'") && strstr(s->I.emsg, "alpha, zeta"), "%s", s->I.emsg);
    lang_clear_error(&s->I);
    lang_session_free(s);
}

int main(void)
{
    RUN(test_registered_module_members_resolve_as_attributes);
    RUN(test_import_of_unknown_module_lists_provided_ones);
    return harness_summary();
}
