/*
 * ctl_out.c - gannetctl output: error lines, aligned tables, a streaming
 * JSON writer and value formatting.  JSON is written by hand (a few
 * dozen lines) rather than pulling a JSON library into the build for one
 * program that only ever writes it.
 */
#include "config.h"
#include "fs/ctl_i.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ctl_err(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- tables ---- */

void ctl_table_init(struct ctl_table *t, const char *const *head,
		    size_t ncols, unsigned right_mask)
{
	memset(t, 0, sizeof(*t));
	t->head = head;
	t->ncols = ncols;
	t->right = right_mask;
}

void ctl_table_row(struct ctl_table *t, ...)
{
	va_list ap;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(char *));
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + i] = xstrdup(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

void ctl_table_print(const struct ctl_table *t, FILE *f)
{
	size_t w[16] = { 0 };

	for (size_t i = 0; i < t->ncols && i < 16; i++) {
		w[i] = strlen(t->head[i]);
		for (size_t r = 0; r < t->nrows; r++)
			w[i] = GN_MAX(w[i], strlen(t->cells[r * t->ncols + i]));
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t i = 0; i < t->ncols && i < 16; i++) {
			const char *s = r ? t->cells[(r - 1) * t->ncols + i] : t->head[i];
			bool last = i + 1 == t->ncols;

			if (t->right & (1u << i))
				fprintf(f, "%*s%s", (int)w[i], s, last ? "" : "  ");
			else if (last)
				fputs(s, f);
			else
				fprintf(f, "%-*s  ", (int)w[i], s);
		}
		fputc('\n', f);
	}
}

void ctl_table_release(struct ctl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ---- JSON ---- */

static void cj_string(FILE *f, const char *s);

static void cj_key(struct ctl_json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
	if (key) {
		cj_string(j->f, key);
		fputc(':', j->f);
	}
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * Strings from the wire may hold any byte (POSIX names are bytes), but
 * JSON must be UTF-8: a byte that does not start a valid sequence is
 * written as \u00XX (its Latin-1 reading), so the output always parses
 * and the name stays recognizable.  Control characters are escaped.
 */
static void cj_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_len(p);

		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20 || !n) {
				fprintf(f, "\\u%04x", *p);
				n = 1;
			} else {
				fwrite(p, 1, n, f);
			}
		}
		p += n ? n : 1;
	}
	fputc('"', f);
}

void cj_begin(struct ctl_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	fputc('{', f);
	j->depth = 1;
}

void cj_end_doc(struct ctl_json *j)
{
	while (j->depth > 0) {
		fputc('}', j->f);
		j->depth--;
	}
	fputc('\n', j->f);
	fflush(j->f);
}

static void cj_open(struct ctl_json *j, const char *key, char ch)
{
	cj_key(j, key);
	fputc(ch, j->f);
	if (j->depth < 31)
		j->depth++;
	j->need_comma[j->depth] = false;
}

void cj_obj(struct ctl_json *j, const char *key) { cj_open(j, key, '{'); }
void cj_arr(struct ctl_json *j, const char *key) { cj_open(j, key, '['); }

void cj_close_obj(struct ctl_json *j)
{
	fputc('}', j->f);
	j->depth--;
}

void cj_close_arr(struct ctl_json *j)
{
	fputc(']', j->f);
	j->depth--;
}

void cj_str(struct ctl_json *j, const char *key, const char *v)
{
	cj_key(j, key);
	if (v)
		cj_string(j->f, v);
	else
		fputs("null", j->f);
}

void cj_u64(struct ctl_json *j, const char *key, uint64_t v)
{
	cj_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void cj_i64(struct ctl_json *j, const char *key, int64_t v)
{
	cj_key(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void cj_bool(struct ctl_json *j, const char *key, bool v)
{
	cj_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void cj_hex(struct ctl_json *j, const char *key, uint64_t v)
{
	cj_key(j, key);
	fprintf(j->f, "\"%016" PRIx64 "\"", v);
}

/* ---- formatting ---- */

const char *ctl_ds_state(int state)
{
	switch (state) {
	case GANNET__DS_INFO__STATE__UP: return "up";
	case GANNET__DS_INFO__STATE__DOWN: return "down";
	case GANNET__DS_INFO__STATE__DRAINING: return "draining";
	case GANNET__DS_INFO__STATE__REMOVED: return "removed";
	default: return "unknown";
	}
}

const char *ctl_compression(int comp)
{
	switch (comp) {
	case GANNET__COMPRESSION__COMPRESSION_NONE: return "none";
	case GANNET__COMPRESSION__COMPRESSION_ZSTD: return "zstd";
	default: return "unknown";
	}
}

const char *ctl_fmt_time(char *buf, size_t len, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return buf;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

const char *ctl_fmt_age(char *buf, size_t len, int64_t ns)
{
	int64_t s = ns / 1000000000;

	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm %llds", (long long)(s / 60),
			 (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

void ctl_ds_json(struct ctl_json *j, const Gannet__DsInfo *d)
{
	cj_obj(j, NULL);
	cj_u64(j, "id", d->id);
	cj_str(j, "addr", d->addr);
	cj_str(j, "state", ctl_ds_state(d->state));
	cj_u64(j, "capacity_bytes", d->capacity_bytes);
	cj_u64(j, "free_bytes", d->free_bytes);
	cj_u64(j, "chunks", d->chunks);
	cj_str(j, "uuid", d->uuid);
	cj_close_obj(j);
}

/*
 * A progress line on stderr, redrawn at most 10 times a second: a bar
 * with a percentage when the total is known, else a running count.
 */
void ctl_progress(struct ctl *c, const char *label, uint64_t done,
		  uint64_t total)
{
	static int64_t last_ms;
	int64_t now = gn_mono_ms();

	if (!c->tty || (now - last_ms < 100 && (!total || done < total)))
		return;
	last_ms = now;
	if (total) {
		unsigned pct = (unsigned)(GN_MIN(done, total) * 100 / total);
		char bar[31];

		memset(bar, '#', pct * 30 / 100);
		memset(bar + pct * 30 / 100, '.', 30 - pct * 30 / 100);
		bar[30] = '\0';
		fprintf(stderr, "\r%s [%s] %3u%% %" PRIu64 "/%" PRIu64 "\033[K",
			label, bar, pct, done, total);
	} else {
		fprintf(stderr, "\r%s %" PRIu64 "\033[K", label, done);
	}
	fflush(stderr);
}

void ctl_progress_end(struct ctl *c)
{
	if (c->tty)
		fputs("\r\033[K", stderr);
}
