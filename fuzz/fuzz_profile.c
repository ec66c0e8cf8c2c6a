/*
 * fuzz_profile.c - the account profile parser (src/profile.c, msmtprc
 * syntax) and its translation into option words checked by the CLI's
 * option parser (src/args.c).
 *
 * Input: byte 0 picks the account asked for (0: the default, 1-3: "a",
 * "b", "work"), the rest is the file's text.
 * Invariants: never crash, leak or hang; a parse error always names the
 * file; every word list starts with an option ("-..."); a secret key's
 * value never appears in an error message.
 */
#include "profile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                             \
  do {                                                                       \
    if(!(x)) {                                                               \
      fprintf(stderr, "fuzz_profile: invariant violated: %s (%s:%d)\n", #x,  \
              __FILE__, __LINE__);                                           \
      abort();                                                               \
    }                                                                        \
  } while(0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1 || size > 65536)
    return 0;
  static const char *const accounts[] = {NULL, "a", "b", "work"};
  const char *account = accounts[data[0] & 3];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  struct profile p;
  char err[1024];
  err[0] = '\0';
  if(profile_parse(text, len, "fuzz.conf", account, &p, err, sizeof(err))) {
    CHECK(strncmp(err, "fuzz.conf", 9) == 0);
    return 0;
  }
  char **words = NULL;
  int n = 0;
  err[0] = '\0';
  if(profile_to_words(&p, &words, &n, err, sizeof(err)) == 0) {
    CHECK(n == 0 || words[0][0] == '-');
    profile_words_free(words, n);
  }
  else {
    CHECK(strncmp(err, "fuzz.conf", 9) == 0);
    /* A password (long enough to be unambiguous) is never echoed. */
    const char *pw = profile_get(&p, "password");
    if(pw && strlen(pw) >= 12)
      CHECK(strstr(err, pw) == NULL);
  }
  profile_free(&p);
  return 0;
}
