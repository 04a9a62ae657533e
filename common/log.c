/* log.c - see log.h */
#include "config.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_subsystem = "gannet";
static enum gn_log_level log_max = GN_LOG_INFO;
static bool log_journal;

void gn_log_init(const char *subsystem, enum gn_log_level max_level)
{
	log_subsystem = subsystem;
	log_max = max_level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

int gn_log_level_parse(const char *s, enum gn_log_level *out)
{
	static const struct { const char *name; enum gn_log_level level; } t[] = {
		{ "error", GN_LOG_ERR }, { "warn", GN_LOG_WARN },
		{ "info", GN_LOG_INFO }, { "debug", GN_LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(s, t[i].name)) {
			*out = t[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

bool gn_log_enabled(enum gn_log_level level)
{
	return level <= log_max;
}

static const char *level_name(enum gn_log_level level)
{
	switch (level) {
	case GN_LOG_ERR: return "error";
	case GN_LOG_WARN: return "warn";
	case GN_LOG_INFO: return "info";
	default: return "debug";
	}
}

static int log_vformat(char *buf, int size, enum gn_log_level level,
		       const char *fmt, va_list ap)
{
	int n = 0;

	if (log_journal)
		n = snprintf(buf, size, "<%d>", (int)level);
	n += snprintf(buf + n, size - n, "%s %s: ", level_name(level),
		      log_subsystem);
	if (n < size)
		n += vsnprintf(buf + n, size - n, fmt, ap);
	if (n >= size)
		n = size - 1;
	/* One event, one line: fold embedded newlines. */
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	return n;
}

int gn_log_format(char *buf, int size, enum gn_log_level level,
		  const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = log_vformat(buf, size, level, fmt, ap);
	va_end(ap);
	return n;
}

void gn_vlog(enum gn_log_level level, const char *fmt, va_list ap)
{
	char buf[2048];
	int saved = errno;
	int n;

	if (!gn_log_enabled(level))
		return;
	n = log_vformat(buf, sizeof(buf) - 1, level, fmt, ap);
	buf[n++] = '\n';
	/* Best effort: nowhere to report a failed write of the log. */
	if (write(STDERR_FILENO, buf, n) < 0)
		errno = saved;
	errno = saved;
}

void gn_log(enum gn_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gn_vlog(level, fmt, ap);
	va_end(ap);
}

void gn_bug(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gn_log(GN_LOG_ERR, "BUG at %s:%d: %s", file, line, msg);
	abort();
}
