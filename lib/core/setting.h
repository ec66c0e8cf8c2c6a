/*
 * core/setting.h - setting tokens in library texts (see core/setting.c and
 * mw_render_settings() in mailwire.h).
 *
 * A text names a setting as "{ID}" or "{ID=VALUE}"; a VALUE that comes from
 * outside the library's own words (a file name, a host) goes through
 * mw__setting_escape() or the MW_SETTING_* printf helpers below.
 */
#ifndef MW_CORE_SETTING_H
#define MW_CORE_SETTING_H

#include "mailwire.h"

#include "core/util.h"

#include <stddef.h>

/* Writes value with '\' and '}' escaped into out (len bytes, NUL-
 * terminated); returns the full length like snprintf. */
size_t mw__setting_escape(const char *value, char *out, size_t len);

/* Appends value escaped to b; false on OOM. */
bool mw__sbuf_put_value(struct mw__sbuf *b, const char *value);

#endif
