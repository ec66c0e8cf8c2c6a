/*
 * mime/compose_module.c - the composer's entry point (mime_module.h):
 * the table of its functions, and, in the loadable module
 * (MW_MIME_MODULE), what it borrows from libmailwire.
 *
 * DESCRIPTION
 *   Built into libmailwire-mime.so.VERSION (MW_MIME_MODULE defined), this
 *   file and compose*.c with a private copy of core/util.c are the whole
 *   module: it links GMime (and through it GLib and GIO) and nothing of
 *   libmailwire, and exports only mw__mime_module_v1 (mime_module.map),
 *   so its internal names never meet the library's.  mw_mailbox_check,
 *   the one libmailwire function the composer needs, comes through the
 *   host table.  Built into libmailwire instead (MW_MIME_BUILTIN), the
 *   library calls mw__mime_module_v1 directly.
 */
#include "mime/mime_module.h"

#include <stddef.h>

#ifdef MW_MIME_MODULE
static const struct mw__mime_host *host;

/* The library's own, lent through the host table. */
mw_mailbox_verdict mw_mailbox_check(const char *text, char *addr,
                                    size_t addr_len, const char **why)
{
  return host->mailbox_check(text, addr, addr_len, why);
}
#endif

static const struct mw__mime_api api = {
    .abi = MW__MIME_ABI,
    .size = sizeof(struct mw__mime_api),
    .version = MW_VERSION_STRING,
    .compose_new = mw__mime_new,
    .compose_free = mw__mime_free,
    .error = mw__mime_error,
    .set_from = mw__mime_set_from,
    .add_to = mw__mime_add_to,
    .add_cc = mw__mime_add_cc,
    .set_subject = mw__mime_set_subject,
    .set_body = mw__mime_set_body,
    .add_header = mw__mime_add_header,
    .render = mw__mime_render,
    .set_html = mw__mime_set_html,
    .add_attachment = mw__mime_add_attachment,
    .add_inline = mw__mime_add_inline,
    .set_message_fd = mw__mime_set_message_fd,
    .recipient_count = mw__mime_recipient_count,
    .recipient = mw__mime_recipient,
    .sender = mw__mime_sender,
    .write_fd = mw__mime_write_fd,
    .open = mw__mime_open,
    .read = mw__mime_read,
    .set_7bit = mw__mime_set_7bit,
};

const struct mw__mime_api *mw__mime_module_v1(
    const struct mw__mime_host *h)
{
  if(!h || h->abi != MW__MIME_ABI || h->size != sizeof(*h) ||
     !h->mailbox_check)
    return NULL;
#ifdef MW_MIME_MODULE
  host = h;
#endif
  return &api;
}
