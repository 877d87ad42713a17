/* cmd_docs.c — `lens docs`: prints docs/LANGUAGE.md (the language, its modules
 * and every builtin), generated from the interpreter's tables. */
#include <stdio.h>

#include "commands.h"
#include "docs_language.h"

int cmd_docs(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: lens docs > docs/LANGUAGE.md\n");
        return 2;
    }
    if (lang_write_language_doc(stdout) || fflush(stdout)) {
        perror("lens docs");
        return 1;
    }
    return 0;
}
