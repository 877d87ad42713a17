/* kernel/lang/docs_language.h — docs/LANGUAGE.md from the interpreter's own
 * tables (docs_language.c). */
#ifndef LANG_DOCS_LANGUAGE_H
#define LANG_DOCS_LANGUAGE_H

#include <stdio.h>

/* Writes the document to f. 0, or -1 on a write error. */
int lang_write_language_doc(FILE *f);

#endif
