/*
 * conf.h - /etc/gannet/gannet.conf: one INI file for every program.
 *
 *   [mds]      read by gannet-mds
 *   [ds]       read by gannet-ds
 *   [client]   read by gannet-fuse / mount.gannet and gannetctl
 *   [security] read by every program
 *
 * Every program parses and validates the whole file (so a typo in any
 * section is caught by whichever program starts first) but uses only its
 * sections.  Every key of a program's section can be overridden on its
 * command line as --key-name=VALUE (underscores become dashes) or, for the
 * mount, -o key_name=VALUE.  The key table (conf_keys.c) is the only list
 * of keys; gannet.conf(5) documents each, and a test checks the two agree.
 *
 * Errors are reported as "FILE:LINE: message" in err; programs print it
 * and exit with status 2.
 */
#ifndef GN_CONF_H
#define GN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GN_CONF_DEFAULT_PATH "/etc/gannet/gannet.conf"

struct gn_conf_mds {
	char *listen;
	char *data_dir;
	uint64_t map_size;
	int64_t workers;
	bool group_commit;
	int64_t lease_ms;
	int64_t session_timeout_ms;
	int64_t ds_timeout_ms;
	int64_t default_replicas;
	char *default_compression;
	int64_t metrics_port;
	char *log_level;
};

struct gn_conf_ds {
	char *listen;
	char *advertise;
	char *data_dir;
	char *mds;
	int64_t workers;
	uint64_t reserve;
	uint64_t scrub_rate;
	int64_t scrub_interval_s;
	int64_t zstd_level;
	int64_t heartbeat_ms;
	int64_t metrics_port;
	char *log_level;
};

/* Upper bound of [client] prefetch_threads (the client's thread array). */
#define GN_PREFETCH_THREADS_MAX 16

struct gn_conf_client {
	char *mds;
	uint64_t cache_size;
	uint64_t writeback_limit;
	uint64_t prefetch_max;
	int64_t upload_threads;
	int64_t prefetch_threads;	/* 1..GN_PREFETCH_THREADS_MAX */
	char *cache_dir;
	uint64_t cache_dir_size;
	int64_t timeout_ms;
	int64_t op_timeout_ms;
	int64_t metrics_port;
	char *log_level;
};

struct gn_conf_security {
	int64_t admin_gid;
};

struct gn_conf {
	struct gn_conf_mds mds;
	struct gn_conf_ds ds;
	struct gn_conf_client client;
	struct gn_conf_security security;
};

enum gn_conf_type {
	GN_CONF_STR,
	GN_CONF_INT,		/* int64_t within [min, max] */
	GN_CONF_SIZE,		/* uint64_t bytes, K/M/G/T suffixes */
	GN_CONF_BOOL,
	GN_CONF_CHOICE,		/* char *, one of `choices` ("a|b") */
};

struct gn_conf_key {
	const char *section;
	const char *name;
	enum gn_conf_type type;
	size_t offset;		/* into struct gn_conf */
	const char *def;	/* default, as it would be written in the file */
	int64_t min, max;	/* GN_CONF_INT / GN_CONF_SIZE bounds */
	const char *choices;	/* GN_CONF_CHOICE */
	const char *help;	/* one line, for --help */
};

/* The key table; *n gets its length. */
const struct gn_conf_key *gn_conf_keys(size_t *n);

/* Fill c with every default.  Release with gn_conf_release(). */
void gn_conf_init(struct gn_conf *c);
void gn_conf_release(struct gn_conf *c);

/*
 * Read path into c.  A missing file is -ENOENT (not an error for callers
 * using the default path); any other problem is -EINVAL with
 * "PATH:LINE: message" in err.  c is left unchanged on error.
 */
int gn_conf_load(struct gn_conf *c, const char *path, char *err, size_t errlen);

/* Set one key from text.  -ENOENT for an unknown key, -EINVAL for a bad
 * value; err gets a message without a location. */
int gn_conf_set(struct gn_conf *c, const char *section, const char *name,
		const char *value, char *err, size_t errlen);

/*
 * Command-line flag for a key of `section`: arg is "--key-name=VALUE" or
 * "--key-name" with the value in next (then *used_next is set).
 * Returns 0 when applied, -ENOENT when arg names no key of the section,
 * -EINVAL (err set) for a bad or missing value.
 */
int gn_conf_flag(struct gn_conf *c, const char *section, const char *arg,
		 const char *next, bool *used_next, char *err, size_t errlen);

/* Print "  --key-name=VALUE  help (default: x)" for each key of section. */
void gn_conf_usage(FILE *out, const char *section);

#endif
