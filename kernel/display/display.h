/* kernel/display/display.h — everything kernel/display offers, in one include:
 * figures (figure.h), attention displays (attention.h), progress bars
 * (progress.h), tables (table.h), and the escaping buffer and last error (dbuf.h). */
#ifndef LENS_DISPLAY_H
#define LENS_DISPLAY_H

#include "attention.h"
#include "dbuf.h"
#include "figure.h"
#include "progress.h"
#include "table.h"

#endif
