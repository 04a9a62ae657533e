/*
 * util.h - small helpers every component uses: allocation that aborts on
 * OOM (for small control objects only; data buffers come from pools and
 * fail with -ENOMEM), clocks, string parsing.
 */
#ifndef GN_UTIL_H
#define GN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define GN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GN_MAX(a, b) ((a) > (b) ? (a) : (b))

void *xmalloc(size_t n) __attribute__((malloc));
void *xcalloc(size_t nmemb, size_t n) __attribute__((malloc));
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s) __attribute__((malloc));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2), malloc));

/* CLOCK_REALTIME / CLOCK_MONOTONIC in nanoseconds. */
int64_t gn_now_ns(void);
int64_t gn_mono_ns(void);
static inline int64_t gn_mono_ms(void) { return gn_mono_ns() / 1000000; }
/* The CLOCK_MONOTONIC time ns nanoseconds from now, as an absolute
 * deadline for pthread_cond_timedwait on a condition variable set to that
 * clock. */
struct timespec gn_mono_after_ns(int64_t ns);

/* Parse a byte size with optional suffix K, M, G, T (powers of 1024),
 * optionally followed by "B" or "iB": "64M", "1GiB", "4096".  -EINVAL on
 * bad syntax, -ERANGE on overflow. */
int gn_parse_size(const char *s, uint64_t *out);
/* Parse a signed decimal integer that must fill s; -EINVAL / -ERANGE. */
int gn_parse_int(const char *s, int64_t *out);
/* "yes/no/true/false/on/off/1/0"; -EINVAL otherwise. */
int gn_parse_bool(const char *s, bool *out);
/* Split "host:port" (host may be "[v6]"); port 0 when absent and
 * default_port given.  Writes host (NUL-terminated) into hostbuf. */
int gn_parse_hostport(const char *s, char *hostbuf, size_t hostlen,
		      int *port, int default_port);

/* Format n bytes as "1.5 GiB" into buf. */
const char *gn_fmt_bytes(char *buf, size_t len, uint64_t n);

#endif
