/* conf.c - see conf.h.  Parsing of the INI syntax is libinih's. */
#include "config.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct gn_conf_key *find_key(const char *section, const char *name)
{
	size_t n;
	const struct gn_conf_key *k = gn_conf_keys(&n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(k[i].section, section) && !strcmp(k[i].name, name))
			return &k[i];
	return NULL;
}

static bool section_known(const char *section)
{
	size_t n;
	const struct gn_conf_key *k = gn_conf_keys(&n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(k[i].section, section))
			return true;
	return false;
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t len = strlen(v);
	const char *p = choices;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		if (n == len && !strncmp(p, v, n))
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

static int key_set(struct gn_conf *c, const struct gn_conf_key *k,
		   const char *value, char *err, size_t errlen)
{
	char *field = (char *)c + k->offset;
	int64_t iv;
	uint64_t sv;
	bool bv;

	switch (k->type) {
	case GN_CONF_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case GN_CONF_CHOICE:
		if (!choice_ok(k->choices, value)) {
			snprintf(err, errlen, "bad value '%s' for '%s': expected %s",
				 value, k->name, k->choices);
			return -EINVAL;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case GN_CONF_INT:
		if (gn_parse_int(value, &iv) || iv < k->min || iv > k->max) {
			snprintf(err, errlen,
				 "bad value '%s' for '%s': expected an integer from %lld to %lld",
				 value, k->name, (long long)k->min, (long long)k->max);
			return -EINVAL;
		}
		*(int64_t *)field = iv;
		return 0;
	case GN_CONF_SIZE:
		if (gn_parse_size(value, &sv) || sv < (uint64_t)k->min ||
		    sv > (uint64_t)k->max) {
			snprintf(err, errlen,
				 "bad value '%s' for '%s': expected a size such as 512M or 4G",
				 value, k->name);
			return -EINVAL;
		}
		*(uint64_t *)field = sv;
		return 0;
	case GN_CONF_BOOL:
		if (gn_parse_bool(value, &bv)) {
			snprintf(err, errlen, "bad value '%s' for '%s': expected yes or no",
				 value, k->name);
			return -EINVAL;
		}
		*(bool *)field = bv;
		return 0;
	}
	return -EINVAL;
}

int gn_conf_set(struct gn_conf *c, const char *section, const char *name,
		const char *value, char *err, size_t errlen)
{
	const struct gn_conf_key *k = find_key(section, name);

	if (!k) {
		if (!section_known(section))
			snprintf(err, errlen, "unknown section '%s'", section);
		else
			snprintf(err, errlen, "unknown key '%s'", name);
		return -ENOENT;
	}
	return key_set(c, k, value, err, errlen);
}

void gn_conf_init(struct gn_conf *c)
{
	size_t n;
	const struct gn_conf_key *k = gn_conf_keys(&n);
	char err[256];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		if (key_set(c, &k[i], k[i].def, err, sizeof(err)))
			BUG("default of config key %s: %s", k[i].name, err);
}

void gn_conf_release(struct gn_conf *c)
{
	size_t n;
	const struct gn_conf_key *k = gn_conf_keys(&n);

	for (size_t i = 0; i < n; i++) {
		if (k[i].type == GN_CONF_STR || k[i].type == GN_CONF_CHOICE) {
			char **f = (char **)((char *)c + k[i].offset);
			free(*f);
			*f = NULL;
		}
	}
}

struct load_ctx {
	struct gn_conf *c;
	char msg[256];
	bool failed;
};

static int load_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct load_ctx *ctx = user;

	if (ctx->failed)
		return 1;	/* report only the first problem */
	if (gn_conf_set(ctx->c, section, name, value, ctx->msg,
			sizeof(ctx->msg))) {
		ctx->failed = true;
		return 0;	/* ini_parse returns this line's number */
	}
	return 1;
}

static int load_into(struct gn_conf *c, FILE *f, const char *path,
		     char *err, size_t errlen)
{
	struct load_ctx ctx = { .c = c };
	int line;

	line = ini_parse_file(f, load_handler, &ctx);
	if (line == 0)
		return 0;
	if (line < 0)
		snprintf(err, errlen, "%s: cannot read file", path);
	else if (ctx.failed)
		snprintf(err, errlen, "%s:%d: %s", path, line, ctx.msg);
	else
		snprintf(err, errlen, "%s:%d: syntax error", path, line);
	return -EINVAL;
}

int gn_conf_load(struct gn_conf *c, const char *path, char *err, size_t errlen)
{
	struct gn_conf scratch;
	FILE *f;
	int ret;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	/* Validate into a scratch copy first so c is unchanged on error. */
	gn_conf_init(&scratch);
	ret = load_into(&scratch, f, path, err, errlen);
	gn_conf_release(&scratch);
	if (ret == 0) {
		rewind(f);
		ret = load_into(c, f, path, err, errlen);
	}
	fclose(f);
	return ret;
}

int gn_conf_flag(struct gn_conf *c, const char *section, const char *arg,
		 const char *next, bool *used_next, char *err, size_t errlen)
{
	char name[64];
	const char *eq, *value;
	size_t len;

	*used_next = false;
	if (strncmp(arg, "--", 2))
		return -ENOENT;
	arg += 2;
	eq = strchr(arg, '=');
	len = eq ? (size_t)(eq - arg) : strlen(arg);
	if (len == 0 || len >= sizeof(name))
		return -ENOENT;
	for (size_t i = 0; i < len; i++)
		name[i] = arg[i] == '-' ? '_' : arg[i];
	name[len] = '\0';
	if (!find_key(section, name))
		return -ENOENT;
	if (eq) {
		value = eq + 1;
	} else if (next) {
		value = next;
		*used_next = true;
	} else {
		snprintf(err, errlen, "option '--%.*s' needs a value", (int)len, arg);
		return -EINVAL;
	}
	return gn_conf_set(c, section, name, value, err, errlen) ? -EINVAL : 0;
}

void gn_conf_usage(FILE *out, const char *section)
{
	size_t n;
	const struct gn_conf_key *k = gn_conf_keys(&n);

	for (size_t i = 0; i < n; i++) {
		char flag[80];
		size_t j;

		if (strcmp(k[i].section, section))
			continue;
		for (j = 0; k[i].name[j] && j < 60; j++)
			flag[j] = k[i].name[j] == '_' ? '-' : k[i].name[j];
		flag[j] = '\0';
		fprintf(out, "  --%s=VALUE\n      %s (default: %s)\n", flag,
			k[i].help, *k[i].def ? k[i].def : "\"\"");
	}
}
