/* tests/lang/test_getenv.c — getenv's allow-list (kernel/lang/getenv_policy.c):
 * LENS_* and the default names are read, every other variable raises
 * PermissionError naming the rule (whether it is set or not, and without its
 * value), and LENS_GETENV_ALLOW adds exact names and prefixes. */
#include <stdlib.h>

#include "cell_cases.h"

#define RULE "LENS_*,HOME,USER,LOGNAME,LANG,LC_ALL,LC_CTYPE,TZ,TMPDIR,HF_HOME,HF_HUB_CACHE,XDG_CACHE_HOME"
#define HINT " (start the kernel with LENS_GETENV_ALLOW=NAME,PREFIX* to allow more)"

static void test_getenv_reads_lens_and_default_names(void)
{
    setenv("LENS_TEST_MODEL", "gpt2-small", 1);
    setenv("HOME", "/home/student", 1);
    setenv("HF_HOME", "/data/hf", 1);
    unsetenv("LENS_TEST_UNSET");
    unsetenv("TZ");
    static const cell_case cases[] = {
        {"getenv('LENS_TEST_MODEL')", "'gpt2-small'"},
        {"getenv('HOME')", "'/home/student'"},
        {"getenv('HF_HOME', 'x')", "'/data/hf'"},
        {"getenv('LENS_TEST_UNSET', 'tiny')", "'tiny'"},
        {"getenv('LENS_TEST_UNSET') is None", "True"},
        {"getenv(name='TZ', default='UTC')", "'UTC'"},
        {NULL, NULL},
    };
    run_cases(cases);
}

static void test_getenv_refuses_other_names_with_the_rule(void)
{
    setenv("AWS_SECRET_ACCESS_KEY", "hunter2-secret", 1);
    setenv("HF_TOKEN", "hf_secret_token", 1);
    unsetenv("LENS_GETENV_ALLOW");
    unsetenv("NOT_SET_ANYWHERE");
    static const cell_case cases[] = {
        {"getenv('AWS_SECRET_ACCESS_KEY')",
         "ERROR PermissionError: getenv('AWS_SECRET_ACCESS_KEY') is not allowed: a cell may read only the "
         "environment variables of the allow-list " RULE HINT},
        /* the token the downloader uses is outside the list */
        {"getenv('HF_TOKEN', None)",
         "ERROR PermissionError: getenv('HF_TOKEN') is not allowed: a cell may read only the "
         "environment variables of the allow-list " RULE HINT},
        /* unset names are refused too: a cell cannot probe which variables exist */
        {"getenv('NOT_SET_ANYWHERE', 'd')",
         "ERROR PermissionError: getenv('NOT_SET_ANYWHERE') is not allowed: a cell may read only the "
         "environment variables of the allow-list " RULE HINT},
        /* a prefix entry needs its whole prefix; an exact entry matches only itself */
        {"getenv('LENS')",
         "ERROR PermissionError: getenv('LENS') is not allowed: a cell may read only the "
         "environment variables of the allow-list " RULE HINT},
        {"getenv('HOMEX')",
         "ERROR PermissionError: getenv('HOMEX') is not allowed: a cell may read only the "
         "environment variables of the allow-list " RULE HINT},
        {"getenv('')",
         "ERROR PermissionError: getenv('') is not allowed: a cell may read only the "
         "environment variables of the allow-list " RULE HINT},
        /* PermissionError is an OSError, as in Python */
        {"try:\n    getenv('AWS_SECRET_ACCESS_KEY')\n    r = 'read'\nexcept OSError as e:\n    r = repr(e)[:16]\nr",
         "'PermissionError('"},
        {"getenv('LENS_TEST_MODEL')", "'gpt2-small'"},
        {NULL, NULL},
    };
    run_cases(cases);
}

static void test_lens_getenv_allow_adds_names_and_prefixes(void)
{
    setenv("LENS_GETENV_ALLOW", " PROJECT_DATA , CONDA_*,,", 1);
    setenv("PROJECT_DATA", "/srv/data", 1);
    setenv("CONDA_PREFIX", "/opt/conda", 1);
    setenv("PROJECT_DATA_KEY", "secret", 1);
    static const cell_case cases[] = {
        {"getenv('PROJECT_DATA')", "'/srv/data'"},
        {"getenv('CONDA_PREFIX')", "'/opt/conda'"},
        {"getenv('CONDA_NOT_SET', 0)", "0"},
        {"getenv('HOME') is not None", "True"},
        {"getenv('PROJECT_DATA_KEY')",
         "ERROR PermissionError: getenv('PROJECT_DATA_KEY') is not allowed: a cell may read only the "
         "environment variables of the allow-list " RULE ", PROJECT_DATA , CONDA_*,," HINT},
        {NULL, NULL},
    };
    run_cases(cases);
    unsetenv("LENS_GETENV_ALLOW");
    static const cell_case after[] = {
        {"getenv('PROJECT_DATA')",
         "ERROR PermissionError: getenv('PROJECT_DATA') is not allowed: a cell may read only the "
         "environment variables of the allow-list " RULE HINT},
        {NULL, NULL},
    };
    run_cases(after);
}

int main(void)
{
    RUN(test_getenv_reads_lens_and_default_names);
    RUN(test_getenv_refuses_other_names_with_the_rule);
    RUN(test_lens_getenv_allow_adds_names_and_prefixes);
    return harness_summary();
}
