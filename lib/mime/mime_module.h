/*
 * mime/mime_module.h - the seam between libmailwire and its message
 * composer (GMime and GLib).
 *
 * Owns: the composer's entry point and the two tables that cross it.
 * The composer (compose.c, compose_parts.c, compose_parse.c and the glue
 * in compose_module.c) is built as its own shared module,
 * libmailwire-mime.so.VERSION, installed next to libmailwire; libmailwire
 * (compose_load.c) loads it with dlopen() on the first mw_compose_new(),
 * so a program that never composes (send --message, fetch, doctor, probe,
 * the library's send path) never maps GMime, GLib, GIO or their
 * dependencies.  With the CMake option MW_MIME_BUILTIN the same files are
 * linked into libmailwire and the entry point is called directly.
 *
 * The module is found by its exact file name (the library's version in
 * it), its entry point by a versioned name, and both tables carry the
 * ABI number and their size: a module from another build is refused
 * rather than called through a table of another shape.
 */
#ifndef MW_MIME_MODULE_H
#define MW_MIME_MODULE_H

#include "mailwire.h"

#include <stddef.h>
#include <stdint.h>

#define MW__MIME_ABI 1u
#define MW__MIME_ENTRY "mw__mime_module_v1"

/* What libmailwire lends the module (it links nothing of libmailwire). */
struct mw__mime_host {
  unsigned abi;
  size_t size;
  mw_mailbox_verdict (*mailbox_check)(const char *text, char *addr,
                                      size_t addr_len, const char **why);
};

/* The composer's functions, one per public mw_compose_* call. */
struct mw__mime_api {
  unsigned abi;
  size_t size;
  const char *version; /* MW_VERSION_STRING of the module's build */
  mw_compose *(*compose_new)(void);
  void (*compose_free)(mw_compose *c);
  const char *(*error)(const mw_compose *c);
  mw_status (*set_from)(mw_compose *c, const char *mailbox);
  mw_status (*add_to)(mw_compose *c, const char *mailbox);
  mw_status (*add_cc)(mw_compose *c, const char *mailbox);
  mw_status (*set_subject)(mw_compose *c, const char *utf8);
  mw_status (*set_body)(mw_compose *c, const char *utf8, size_t len);
  mw_status (*add_header)(mw_compose *c, const char *name,
                          const char *value);
  mw_status (*render)(mw_compose *c, char **out, size_t *len);
  mw_status (*set_html)(mw_compose *c, const char *utf8, size_t len);
  mw_status (*add_attachment)(mw_compose *c, const char *path,
                              const char *name, const char *type);
  mw_status (*add_inline)(mw_compose *c, const char *path,
                          const char *content_id, const char *type);
  mw_status (*set_message_fd)(mw_compose *c, int fd);
  size_t (*recipient_count)(const mw_compose *c);
  const char *(*recipient)(const mw_compose *c, size_t i);
  const char *(*sender)(const mw_compose *c);
  mw_status (*write_fd)(mw_compose *c, int fd);
  mw_status (*open)(mw_compose *c, uint64_t *size);
  mw_status (*read)(void *user, char *buf, size_t len, size_t *got);
  mw_status (*set_7bit)(mw_compose *c, bool on);
};

/* The entry point (exported by the module under MW__MIME_ENTRY): checks
 * host, initialises GMime once, returns the table (static), or NULL when
 * host is of another ABI. */
typedef const struct mw__mime_api *(*mw__mime_entry_fn)(
    const struct mw__mime_host *host);
const struct mw__mime_api *mw__mime_module_v1(
    const struct mw__mime_host *host);

/* The composer's implementations (compose*.c), behind the table. */
mw_compose *mw__mime_new(void);
void mw__mime_free(mw_compose *c);
const char *mw__mime_error(const mw_compose *c);
mw_status mw__mime_set_from(mw_compose *c, const char *mailbox);
mw_status mw__mime_add_to(mw_compose *c, const char *mailbox);
mw_status mw__mime_add_cc(mw_compose *c, const char *mailbox);
mw_status mw__mime_set_subject(mw_compose *c, const char *utf8);
mw_status mw__mime_set_body(mw_compose *c, const char *utf8, size_t len);
mw_status mw__mime_add_header(mw_compose *c, const char *name,
                              const char *value);
mw_status mw__mime_render(mw_compose *c, char **out, size_t *len);
mw_status mw__mime_set_html(mw_compose *c, const char *utf8, size_t len);
mw_status mw__mime_add_attachment(mw_compose *c, const char *path,
                                  const char *name, const char *type);
mw_status mw__mime_add_inline(mw_compose *c, const char *path,
                              const char *content_id, const char *type);
mw_status mw__mime_set_message_fd(mw_compose *c, int fd);
size_t mw__mime_recipient_count(const mw_compose *c);
const char *mw__mime_recipient(const mw_compose *c, size_t i);
const char *mw__mime_sender(const mw_compose *c);
mw_status mw__mime_write_fd(mw_compose *c, int fd);
mw_status mw__mime_open(mw_compose *c, uint64_t *size);
mw_status mw__mime_read(void *user, char *buf, size_t len, size_t *got);
mw_status mw__mime_set_7bit(mw_compose *c, bool on);

#endif
