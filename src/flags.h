/*
 * flags.h - library texts in the CLI's words.
 *
 * The library names settings as tokens ("use {tls=implicit}", see
 * mw_render_settings() in mailwire.h); the CLI owns the table that spells
 * each setting as its command-line flag ("use --tls implicit").  Every
 * library text the CLI prints (errors, trace lines, doctor evidence and
 * fixes, explain's meaning and advice, probe details) goes through
 * cli_text() first.
 */
#ifndef MW_CLI_FLAGS_H
#define MW_CLI_FLAGS_H

#include "mailwire.h"

#include <stddef.h>

/* The flag for setting s ("--tls-ca-file", "-4"), never NULL. */
const char *cli_flag_name(mw_setting s);

/* The mw_setting_render_fn of the CLI: "{tls=implicit}" -> "--tls
 * implicit", "{insecure}" -> "--insecure". */
int cli_flag_render(void *user, mw_setting s, const char *value, char *out,
                    size_t len);

/* text (a library text, may be NULL) with its setting tokens rendered as
 * flags.  NULL in gives NULL.  The result lives until eight more calls
 * (a ring of buffers, freed at exit), so a few can be used in one printf;
 * on out of memory the text is returned as the library wrote it. */
const char *cli_text(const char *text);

#endif
