/* tests/engine/test_suggest.c — lens_suggest: the nearest name to a typo, or
 * none when nothing is close. */
#include "../harness.h"
#include "lens/suggest.h"

static const char *const shorts[] = {"resid_pre", "resid_mid", "resid_post", "attn_scores", "pattern",
                                     "z", "result", "q", "k", "v", "pre", "post", "embed", "pos_embed"};
#define NS (sizeof shorts / sizeof *shorts)

static void test_one_edit_typos_find_the_name(void)
{
    CHECK(!strcmp(lens_suggest("patern", shorts, NS), "pattern"), "%s", "");          /* deletion */
    CHECK(!strcmp(lens_suggest("patttern", shorts, NS), "pattern"), "%s", "");        /* insertion */
    CHECK(!strcmp(lens_suggest("pattren", shorts, NS), "pattern"), "%s", "");         /* swap */
    CHECK(!strcmp(lens_suggest("resid_psot", shorts, NS), "resid_post"), "%s", "");
    CHECK(!strcmp(lens_suggest("Pattern", shorts, NS), "pattern"), "%s", "");         /* case */
    CHECK(!strcmp(lens_suggest("attn_score", shorts, NS), "attn_scores"), "%s", "");
}

static void test_far_or_equal_words_get_nothing(void)
{
    CHECK(lens_suggest("xyz", shorts, NS) == NULL, "%s", lens_suggest("xyz", shorts, NS));
    CHECK(lens_suggest("a", shorts, NS) == NULL, "%s", "");           /* one letter: 'z' is not a guess */
    CHECK(lens_suggest("pattern", shorts, NS) == NULL, "%s", "");     /* it exists: nothing to suggest */
    CHECK(lens_suggest("", shorts, NS) == NULL, "%s", "");
    CHECK(lens_suggest(NULL, shorts, NS) == NULL, "%s", "");
    CHECK(lens_suggest("patern", NULL, 3) == NULL, "%s", "");
    char long_word[400];
    memset(long_word, 'p', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = 0;
    CHECK(lens_suggest(long_word, shorts, NS) == NULL, "%s", "");
}

static void test_nearest_wins_and_ties_go_first(void)
{
    const char *const full[] = {"blocks.0.hook_resid_pre", "blocks.0.attn.hook_pattern",
                                "blocks.1.attn.hook_pattern", NULL, "blocks.0.hook_resid_post"};
    CHECK(!strcmp(lens_suggest("blocks.0.hook_patern", full, 5), "blocks.0.attn.hook_pattern"), "%s", "");
    CHECK(!strcmp(lens_suggest("blocks.0.hook_resid_pr", full, 5), "blocks.0.hook_resid_pre"), "%s", "");
    const char *const tie[] = {"cat", "bat"};
    CHECK(!strcmp(lens_suggest("hat", tie, 2), "cat"), "%s", "");
}

int main(void)
{
    RUN(test_one_edit_typos_find_the_name);
    RUN(test_far_or_equal_words_get_nothing);
    RUN(test_nearest_wins_and_ties_go_first);
    return harness_summary();
}
