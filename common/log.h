/*
 * log.h - one line per event on stderr, journald-friendly:
 *
 *   <3>error mds: cannot open store path='/var/lib/gannet' err='No space left'
 *
 * The "<N>" prefix is the syslog priority that systemd-journald reads from
 * a service's stderr (sd-daemon(3)); it is printed only when stderr is the
 * journal (JOURNAL_STREAM set) so that terminals and test logs stay plain.
 * Then: level, subsystem, message, key=value pairs (the caller formats
 * them into the message).  Messages are lowercase, without a full stop.
 *
 * Thread-safe: each event is written with one write(2).
 */
#ifndef GN_LOG_H
#define GN_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum gn_log_level {
	GN_LOG_ERR = 3,
	GN_LOG_WARN = 4,
	GN_LOG_INFO = 6,
	GN_LOG_DEBUG = 7,
};

/* Process-wide settings; call before starting threads.  subsystem is
 * borrowed (a string literal). */
void gn_log_init(const char *subsystem, enum gn_log_level max_level);
/* Parse "error", "warn", "info", "debug"; -EINVAL otherwise. */
int gn_log_level_parse(const char *s, enum gn_log_level *out);
bool gn_log_enabled(enum gn_log_level level);

void gn_log(enum gn_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gn_vlog(enum gn_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Format one log line (without trailing newline) into buf, as gn_log
 * would print it; returns its length.  For tests. */
int gn_log_format(char *buf, int size, enum gn_log_level level,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_err(...)	gn_log(GN_LOG_ERR, __VA_ARGS__)
#define log_warn(...)	gn_log(GN_LOG_WARN, __VA_ARGS__)
#define log_info(...)	gn_log(GN_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (gn_log_enabled(GN_LOG_DEBUG)) \
				gn_log(GN_LOG_DEBUG, __VA_ARGS__); } while (0)

/* A broken invariant: log and abort (git BUG()). */
#define BUG(...)	gn_bug(__FILE__, __LINE__, __VA_ARGS__)
void gn_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
