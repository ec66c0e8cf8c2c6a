/*
 * args_values.c - durations ("30", "1.5s", "500ms", "2m") and sizes
 * ("512K", "25M") as the options take them (see args.h).
 */
#include "args.h"

#include <ctype.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

/* ---- durations ---------------------------------------------------------- */

#define DURATION_MAX_MS (24ULL * 3600 * 1000)

const char *cli_duration_error(const char *text, unsigned *ms)
{
  if(!text || !*text)
    return "is empty";
  const char *p = text;
  if(*p == '-')
    return "is negative";
  if(*p == '+' || *p == ' ' || *p == '\t')
    return "is not a number";
  /* Integer part, bounded well before it could overflow. */
  unsigned long long whole = 0, frac = 0, frac_scale = 1;
  size_t digits = 0;
  while(*p >= '0' && *p <= '9') {
    if(whole > DURATION_MAX_MS)
      return "is above the maximum of 24h";
    whole = whole * 10 + (unsigned long long)(*p - '0');
    p++;
    digits++;
  }
  if(*p == '.') {
    p++;
    size_t fdigits = 0;
    while(*p >= '0' && *p <= '9') {
      if(fdigits < 6) { /* microseconds of the unit are plenty */
        frac = frac * 10 + (unsigned long long)(*p - '0');
        frac_scale *= 10;
      }
      fdigits++;
      p++;
    }
    if(!fdigits)
      return "has no digits after the decimal point";
    digits += fdigits;
  }
  if(!digits)
    return "is not a number";
  unsigned long long unit_ms;
  if(!*p || strcmp(p, "s") == 0)
    unit_ms = 1000;
  else if(strcmp(p, "ms") == 0)
    unit_ms = 1;
  else if(strcmp(p, "m") == 0)
    unit_ms = 60000;
  else if(strcmp(p, "h") == 0)
    unit_ms = 3600000;
  else
    return "has an unknown unit (use ms, s, m or h)";
  if(whole > DURATION_MAX_MS / unit_ms + 1)
    return "is above the maximum of 24h";
  /* In microseconds: whole * unit plus the fraction of a unit, rounded to
   * the nearest millisecond. */
  unsigned long long us = whole * unit_ms * 1000 +
                          frac * unit_ms * 1000 / frac_scale;
  unsigned long long v = (us + 500) / 1000;
  if(v > DURATION_MAX_MS)
    return "is above the maximum of 24h";
  if(v == 0)
    return whole || frac ? "is below the minimum of 1ms" : "is zero";
  *ms = (unsigned)v;
  return NULL;
}

bool cli_parse_duration(const char *text, unsigned *ms)
{
  return cli_duration_error(text, ms) == NULL;
}

bool cli_parse_size(const char *text, unsigned long long *bytes)
{
  if(!text || *text < '0' || *text > '9')
    return false;
  unsigned long long v = 0;
  const char *p = text;
  while(*p >= '0' && *p <= '9') {
    v = v * 10 + (unsigned long long)(*p - '0');
    if(v > (1ULL << 40))
      return false;
    p++;
  }
  unsigned shift = 0;
  if(*p == 'k' || *p == 'K')
    shift = 10;
  else if(*p == 'm' || *p == 'M')
    shift = 20;
  else if(*p == 'g' || *p == 'G')
    shift = 30;
  if(shift)
    p++;
  if(*p || v == 0 || v > (1ULL << 40) >> shift)
    return false;
  *bytes = v << shift;
  return true;
}


bool cli_parse_rate(const char *text, double *per_second)
{
  if(!text || !isdigit((unsigned char)*text))
    return false;
  char *end = NULL;
  double n = strtod(text, &end);
  if(end == text || !(n > 0) || n > 1e9)
    return false;
  double per = 1.0;
  if(*end == '/') {
    if(strcmp(end + 1, "s") == 0)
      per = 1.0;
    else if(strcmp(end + 1, "m") == 0)
      per = 60.0;
    else if(strcmp(end + 1, "h") == 0)
      per = 3600.0;
    else
      return false;
  }
  else if(*end) {
    return false;
  }
  double r = n / per;
  if(r > 1000.0 || r < 1.0 / 86400.0)
    return false;
  *per_second = r;
  return true;
}
