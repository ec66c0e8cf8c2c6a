/*
 * tls/tls_layer.c - TLS as a layer of the connection's stack.
 *
 * DESCRIPTION
 *   OpenSSL's BIO here calls the layer below (io/layer.h) instead of a
 *   socket, and the TLS layer's connect, read and write steps are one
 *   SSL_connect(), SSL_read_ex() or SSL_write_ex() each, never waiting:
 *   what OpenSSL needs is reported as *want, and failures are translated
 *   by mw__tls_result() (tls_ossl.c).  The handshake policy (verification,
 *   pinning, the facts read afterwards) stays in tls_ossl.c.
 */
#include "tls/tls_int.h"

#include "core/util.h"

#include <errno.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* -- the BIO over the layer below ------------------------------------------
 * OpenSSL reads and writes through the layer below (TCP, a proxy tunnel, or
 * memory in tests), never a descriptor of its own: no SSL_set_fd.  The TCP
 * layer writes with send(MSG_NOSIGNAL), so a peer that has closed is an
 * EPIPE error (SSL_ERROR_SYSCALL) for every TLS write, data, alerts and
 * close_notify alike, and never a SIGPIPE that would kill a host program
 * (the library never touches signal dispositions).  The layer's errno is
 * handed to OpenSSL's caller through errno, as a socket BIO would. */

struct layer_bio {
  struct mw__layer *below;
  bool eof;
};

static int layer_bio_write(BIO *b, const char *buf, int len)
{
  struct layer_bio *lb = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  size_t put = 0;
  short want = 0;
  mw_status st = lb->below->ops->write(lb->below, buf, (size_t)len, &put,
                                       &want);
  if(st) {
    errno = lb->below->sys_errno ? lb->below->sys_errno : EPIPE;
    return -1;
  }
  if(!put && len) {
    if(want == POLLIN)
      BIO_set_retry_read(b);
    else
      BIO_set_retry_write(b);
    return -1;
  }
  return (int)put;
}

static int layer_bio_read(BIO *b, char *buf, int len)
{
  struct layer_bio *lb = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  size_t got = 0;
  short want = 0;
  mw_status st = lb->below->ops->read(lb->below, buf, (size_t)len, &got,
                                      &want);
  if(st && lb->below->eof) {
    lb->eof = true;
    errno = 0;
    return 0;
  }
  if(st) {
    errno = lb->below->sys_errno ? lb->below->sys_errno : ECONNRESET;
    return -1;
  }
  if(!got) {
    if(want == POLLOUT)
      BIO_set_retry_write(b);
    else
      BIO_set_retry_read(b);
    return -1;
  }
  return (int)got;
}

static int layer_bio_puts(BIO *b, const char *str)
{
  return layer_bio_write(b, str, (int)strlen(str));
}

static long layer_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
  (void)num;
  struct layer_bio *lb = BIO_get_data(b);
  switch(cmd) {
  case BIO_C_GET_FD: /* SSL_get_fd(): the socket at the bottom, or -1 */
    if(ptr)
      *(int *)ptr = lb->below->fd;
    return lb->below->fd;
  case BIO_CTRL_EOF:
    return lb->eof;
  case BIO_CTRL_FLUSH:
    return 1;
  case BIO_CTRL_GET_CLOSE:
    return BIO_NOCLOSE; /* the stack owns and closes the layer below */
  case BIO_CTRL_SET_CLOSE:
    return 1;
  default:
    return 0;
  }
}

static int layer_bio_destroy(BIO *b)
{
  mw__free(BIO_get_data(b)); /* never touches the layer: it may be gone */
  BIO_set_data(b, NULL);
  BIO_set_init(b, 0);
  return 1;
}

static BIO_METHOD *layer_bio_method;

static void layer_bio_method_create(void)
{
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                               "mailwire layer below TLS");
  if(!m)
    return;
  if(!BIO_meth_set_write(m, layer_bio_write) ||
     !BIO_meth_set_read(m, layer_bio_read) ||
     !BIO_meth_set_puts(m, layer_bio_puts) ||
     !BIO_meth_set_ctrl(m, layer_bio_ctrl) ||
     !BIO_meth_set_destroy(m, layer_bio_destroy)) {
    BIO_meth_free(m);
    return;
  }
  layer_bio_method = m;
}

BIO *mw__tls_layer_bio_new(struct mw__layer *below)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, layer_bio_method_create);
  if(!layer_bio_method)
    return NULL;
  struct layer_bio *lb = mw__calloc(1, sizeof(*lb));
  BIO *b = lb ? BIO_new(layer_bio_method) : NULL;
  if(!b) {
    mw__free(lb);
    return NULL;
  }
  lb->below = below;
  BIO_set_data(b, lb);
  BIO_set_init(b, 1);
  return b;
}

/* -- TLS as a layer ------------------------------------------------------ */

/* The connect step: one SSL_connect() through the layer below. */
static mw_status tls_layer_connect(struct mw__layer *l, short *want)
{
  struct mw__tls *t = l->impl;
  *want = 0;
  ERR_clear_error();
  int rc = SSL_connect(t->ssl);
  if(rc == 1)
    return MW_OK;
  return mw__tls_result(t, rc, want, l->err, "during the TLS handshake");
}

static mw_status tls_layer_read(struct mw__layer *l, void *buf, size_t len,
                                size_t *got, short *want)
{
  struct mw__tls *t = l->impl;
  *got = 0;
  *want = 0;
  ERR_clear_error();
  int rc = SSL_read_ex(t->ssl, buf, len, got);
  if(rc == 1)
    return MW_OK;
  *got = 0;
  mw_status s = mw__tls_result(t, rc, want, l->err, "waiting for the server");
  if(s == MW_E_CLOSED)
    l->eof = true;
  return s;
}

static mw_status tls_layer_write(struct mw__layer *l, const void *buf,
                                 size_t len, size_t *put, short *want)
{
  struct mw__tls *t = l->impl;
  *put = 0;
  *want = 0;
  if(!len)
    return MW_OK;
  ERR_clear_error();
  int rc = SSL_write_ex(t->ssl, buf, len, put);
  if(rc == 1)
    return MW_OK;
  *put = 0;
  return mw__tls_result(t, rc, want, l->err, "sending to the server");
}

static size_t tls_layer_pending(const struct mw__layer *l)
{
  const struct mw__tls *t = l->impl;
  int n = SSL_pending(t->ssl);
  return n > 0 ? (size_t)n : 0;
}

/* Closes the layers below; the struct mw__tls stays its owner's (freed
 * with mw__tls_free(), after the stack). */
static void tls_layer_close(struct mw__layer *l)
{
  mw__layer_close(l->below);
  l->below = NULL;
}

static void tls_layer_describe(const struct mw__layer *l, char *buf,
                               size_t len)
{
  const struct mw__tls *t = l->impl;
  const char *cipher = SSL_get_cipher_name(t->ssl);
  snprintf(buf, len, "tls %s %s", SSL_get_version(t->ssl),
           cipher ? cipher : "");
}

const struct mw__layer_ops mw__tls_layer_ops = {
    .name = "tls",
    .connect = tls_layer_connect,
    .read = tls_layer_read,
    .write = tls_layer_write,
    .pending = tls_layer_pending,
    .close = tls_layer_close,
    .describe = tls_layer_describe};

