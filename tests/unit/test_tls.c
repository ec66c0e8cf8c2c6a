/* Unit tests: tls/tls_ossl.c classifies a failed handshake by OpenSSL's
 * reason codes into err->tls_failure (never by the words of the message),
 * and still gives the same message and hint for each kind.  The server is
 * an OpenSSL server in a thread on the other end of a socketpair, or a
 * plaintext peer; nothing leaves the process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/err.h"
#include "net/tcp_layer.h"
#include "tls/tls.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static EVP_PKEY *server_key;
static X509 *server_cert;

/* A self-signed certificate for key, valid for a day. */
static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
  X509 *c = X509_new();
  assert_non_null(c);
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
  X509_gmtime_adj(X509_getm_notBefore(c), -60);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400);
  X509_set_pubkey(c, key);
  X509_NAME *n = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(c, n);
  assert_true(X509_sign(c, key, EVP_sha256()) > 0);
  return c;
}

static int setup(void **state)
{
  (void)state;
  if(mw_global_init() != MW_OK)
    return -1;
  server_key = EVP_EC_gen("P-256");
  if(!server_key)
    return -1;
  server_cert = self_signed(server_key, "tls unit test");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  X509_free(server_cert);
  EVP_PKEY_free(server_key);
  mw_global_cleanup();
  return 0;
}

/* What the peer thread does on its end of the socketpair. */
struct peer {
  int fd;
  const char *plaintext;  /* write this and stop, instead of TLS */
  int max_version;        /* 0: any */
  bool require_client_cert;
};

static void *peer_main(void *arg)
{
  struct peer *p = arg;
  if(p->plaintext) {
    (void)!write(p->fd, p->plaintext, strlen(p->plaintext));
    return NULL;
  }
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx, server_cert);
  SSL_CTX_use_PrivateKey(ctx, server_key);
  if(p->max_version)
    SSL_CTX_set_max_proto_version(ctx, p->max_version);
  if(p->require_client_cert)
    SSL_CTX_set_verify(ctx,
                       SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, p->fd);
  if(SSL_accept(ssl) == 1) {
    /* TLS 1.3: the client's certificate (or its absence) is judged
     * after the client has finished; read to let that happen. */
    char buf[64];
    (void)SSL_read(ssl, buf, sizeof(buf));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return NULL;
}

/* Runs a non-blocking client handshake through the layer API (TLS over a
 * TCP layer over the socket: mw__tls_begin, mw__tls_handshake_step), then
 * one read, as a session's first command would, against the peer;
 * returns the first failure. */
static mw_status client_run(struct peer *p, const struct mw__tls_policy *pol,
                            struct mw_error *err, struct mw__tls_info *info)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  p->fd = sv[1];
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, peer_main, p), 0);
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  memset(info, 0, sizeof(*info));
  struct mw__trace trace = {0};
  struct mw__tls *t = NULL;
  struct mw__layer *tcp = NULL;
  mw_status st = mw__tcp_layer_new(sv[0], false, NULL, err, &tcp);
  if(!st)
    st = mw__tls_begin(tcp, pol, &trace, err, &t);
  short want = 0;
  for(int i = 0; !st && i < 1000; i++) {
    st = mw__tls_handshake_step(t, pol, &trace, err, &want, info);
    if(st || !want)
      break;
    struct pollfd pf = {.fd = sv[0], .events = want};
    poll(&pf, 1, 5000);
  }
  if(!st) {
    assert_int_equal(want, 0);
    char buf[64];
    size_t got = 0;
    for(int i = 0; i < 1000; i++) {
      struct mw__layer *l = mw__tls_layer(t);
      st = l->ops->read(l, buf, sizeof(buf), &got, &want);
      if(st || got)
        break;
      struct pollfd pf = {.fd = sv[0], .events = want};
      poll(&pf, 1, 5000);
    }
  }
  mw__tls_free(t);
  mw__layer_close(tcp); /* not the socket: closed here */
  close(sv[0]);
  pthread_join(th, NULL);
  close(sv[1]);
  return st;
}

static const struct mw__tls_policy insecure = {.insecure = true};

static void plaintext_peer_is_a_kind(void **state)
{
  (void)state;
  struct peer p = {.plaintext = "220 mail.example.org ESMTP ready\r\n"};
  struct mw_error err = {0};
  struct mw__tls_info info;
  assert_int_equal(client_run(&p, &insecure, &err, &info), MW_E_TLS);
  assert_int_equal(err.tls_failure, MW__TLS_FAIL_PLAINTEXT);
  assert_true(info.plaintext_peer);
  assert_non_null(strstr(err.message, "the server answered in plaintext"));
  mw__error_clear(&err);
}

static void no_common_version_is_a_kind(void **state)
{
  (void)state;
  struct peer p = {.max_version = TLS1_2_VERSION};
  struct mw__tls_policy pol = insecure;
  pol.min = MW_TLS_VERSION_1_3;
  struct mw_error err = {0};
  struct mw__tls_info info;
  assert_int_equal(client_run(&p, &pol, &err, &info), MW_E_TLS);
  assert_int_equal(err.tls_failure, MW__TLS_FAIL_VERSION);
  assert_false(info.plaintext_peer);
  assert_non_null(strstr(err.message, "check {tls-min}/{tls-max}"));
  mw__error_clear(&err);
}

static void handshake_refusal_is_a_kind(void **state)
{
  (void)state;
  /* TLS 1.2: a server that requires a client certificate refuses the
   * handshake itself with the handshake_failure alert. */
  struct peer p = {.max_version = TLS1_2_VERSION,
                   .require_client_cert = true};
  struct mw_error err = {0};
  struct mw__tls_info info;
  assert_int_equal(client_run(&p, &insecure, &err, &info), MW_E_TLS);
  assert_int_equal(err.tls_failure, MW__TLS_FAIL_REFUSED);
  assert_non_null(strstr(err.message, "the server refused the handshake"));
  mw__error_clear(&err);
}

static void certificate_required_is_a_kind(void **state)
{
  (void)state;
  /* TLS 1.3: the client finishes first; the certificate_required alert
   * comes with the first read. */
  struct peer p = {.require_client_cert = true};
  struct mw_error err = {0};
  struct mw__tls_info info;
  assert_int_equal(client_run(&p, &insecure, &err, &info), MW_E_TLS);
  assert_int_equal(err.tls_failure, MW__TLS_FAIL_CERT_REQUIRED);
  assert_non_null(strstr(err.message, "requires a client certificate"));
  mw__error_clear(&err);
}

static void write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  if(cert)
    assert_int_equal(PEM_write_X509(f, cert), 1);
  if(key)
    assert_int_equal(
        PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
  fclose(f);
}

static void key_of_another_certificate_is_named(void **state)
{
  (void)state;
  char dir[] = "/tmp/mw-test-tls-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char crt[64], key[64];
  snprintf(crt, sizeof(crt), "%s/client.crt", dir);
  snprintf(key, sizeof(key), "%s/other.key", dir);
  EVP_PKEY *other = EVP_EC_gen("P-256");
  assert_non_null(other);
  write_pem(crt, server_cert, NULL);
  write_pem(key, NULL, other);
  struct mw__tls_policy pol = insecure;
  pol.cert_file = crt;
  pol.key_file = key;
  struct mw_error err = {0};
  struct mw__tls *t = NULL;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  struct mw__trace trace = {0};
  struct mw__layer *tcp = NULL;
  assert_int_equal(mw__tcp_layer_new(sv[0], false, NULL, &err, &tcp), MW_OK);
  assert_int_equal(mw__tls_begin(tcp, &pol, &trace, &err, &t), MW_E_INVALID);
  assert_null(t);
  mw__layer_close(tcp);
  assert_non_null(strstr(err.message, "does not belong to the client"));
  assert_non_null(strstr(err.message, key));
  assert_non_null(strstr(err.message, crt));
  mw__error_clear(&err);
  close(sv[0]);
  close(sv[1]);
  EVP_PKEY_free(other);
  unlink(crt);
  unlink(key);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plaintext_peer_is_a_kind),
      cmocka_unit_test(no_common_version_is_a_kind),
      cmocka_unit_test(handshake_refusal_is_a_kind),
      cmocka_unit_test(certificate_required_is_a_kind),
      cmocka_unit_test(key_of_another_certificate_is_named),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
