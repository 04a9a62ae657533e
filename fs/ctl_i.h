/*
 * ctl_i.h - gannetctl internals, shared by fs/ctl*.c.
 *
 * gannetctl is a short-lived, single-threaded client: every remote call
 * is synchronous with a deadline (timeout_ms), every failure is printed
 * once by the layer that sees it, and commands return the process exit
 * status (CTL_OK / CTL_FAIL / CTL_USAGE).  It links libcommon and libproto
 * only: it never touches libfuse or the fs/ client library.  The one
 * exception to single-threaded is warmup, whose worker threads make no
 * remote call and touch only their own state (ctl_warmup.c).
 */
#ifndef GN_CTL_I_H
#define GN_CTL_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/rpc.h"
#include "common.pb-c.h"
#include "mds.pb-c.h"
#include "ds.pb-c.h"

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

/* Options seen on the command line; which ones a command accepts is
 * checked by the command (ctl_only_opts). */
enum ctl_opt_flags {
	CTL_O_REPLICAS = 1 << 0,
	CTL_O_COMPRESSION = 1 << 1,
	CTL_O_REPAIR = 1 << 2,
	CTL_O_DS = 1 << 3,
	CTL_O_INTERVAL = 1 << 4,
	CTL_O_COUNT = 1 << 5,
	CTL_O_PARALLEL = 1 << 6,
};

struct ctl_ds_chan {
	char *addr;
	struct gn_rpc_channel *ch;
};

struct ctl {
	const char *prog;
	char *mds_addr;		/* owned */
	bool mds_from_cmdline;
	int timeout_ms;
	bool json;
	bool tty;		/* stdout and stderr are terminals: progress */

	unsigned opts_given;	/* enum ctl_opt_flags */
	int64_t replicas;
	const char *compression;
	bool repair;
	int64_t ds_filter;
	int interval_ms;	/* stats, default 1000 */
	int64_t count;		/* stats */
	int64_t parallel;	/* warmup, default 4 */
	int64_t client_metrics_port;	/* [client] metrics_port */

	struct gn_rpc_client *rpc;
	struct gn_rpc_channel *mds;
	struct ctl_ds_chan *ds;
	size_t nds;

	Gannet__Cred cred;
	uint32_t groups[64];
	Gannet__ReqHeader hdr;
	uint64_t next_request_id;
};

/* ---- remote calls (ctl.c) ---- */

/* The request header every request points at (fills a fresh id). */
Gannet__ReqHeader *ctl_hdr(struct ctl *c);

/*
 * Call method ("Lookup") of the MDS service.  On failure prints one line
 * naming the MDS address and what failed (`what`, e.g. "lookup 'a/b'")
 * and returns the negative errno; res is released then.  On success the
 * caller releases res.
 */
int ctl_mds_call(struct ctl *c, const char *method, const char *what,
		 const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *reply_desc,
		 struct gn_rpc_result *res);
/* Same without printing anything (the caller decides). */
int ctl_mds_call_quiet(struct ctl *c, const char *method,
		       const ProtobufCMessage *req,
		       const ProtobufCMessageDescriptor *reply_desc,
		       struct gn_rpc_result *res);
/* Call method of the Ds service at addr; quiet like the above. */
int ctl_ds_call(struct ctl *c, const char *addr, const char *method,
		const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *reply_desc,
		struct gn_rpc_result *res);
/* Print "gannetctl: <what> on <addr>: <reason>" for a failed result. */
void ctl_print_rpc_error(struct ctl *c, const char *addr, const char *what,
			 const struct gn_rpc_result *res);

/* Fetch the data server list; *out owned by res (release it). */
int ctl_list_ds(struct ctl *c, struct gn_rpc_result *res,
		Gannet__ListDsReply **out);

/* ---- output (ctl_out.c) ---- */

void ctl_err(struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A table printed with aligned columns; cells are copied. */
struct ctl_table {
	size_t ncols, nrows, cap;
	const char *const *head;
	unsigned right;		/* bit i: right-align column i */
	char **cells;		/* nrows * ncols */
};
void ctl_table_init(struct ctl_table *t, const char *const *head,
		    size_t ncols, unsigned right_mask);
void ctl_table_row(struct ctl_table *t, ...);	/* ncols char * */
void ctl_table_print(const struct ctl_table *t, FILE *f);
void ctl_table_release(struct ctl_table *t);

/* A streaming JSON writer: keys are NULL inside arrays. */
struct ctl_json {
	FILE *f;
	int depth;
	bool need_comma[32];
};
void cj_begin(struct ctl_json *j, FILE *f);	/* the top-level object */
void cj_end_doc(struct ctl_json *j);		/* closes it, newline */
void cj_obj(struct ctl_json *j, const char *key);
void cj_arr(struct ctl_json *j, const char *key);
void cj_close_obj(struct ctl_json *j);
void cj_close_arr(struct ctl_json *j);
void cj_str(struct ctl_json *j, const char *key, const char *v);
void cj_u64(struct ctl_json *j, const char *key, uint64_t v);
void cj_i64(struct ctl_json *j, const char *key, int64_t v);
void cj_bool(struct ctl_json *j, const char *key, bool v);
void cj_hex(struct ctl_json *j, const char *key, uint64_t v); /* "%016x" */

const char *ctl_ds_state(int state);		/* "up", "down", ... */
const char *ctl_compression(int comp);		/* "none", "zstd" */
/* "2026-11-29T21:40:01Z" (UTC) of ns since the epoch; "-" for 0. */
const char *ctl_fmt_time(char *buf, size_t len, int64_t ns);
/* "3d 4h", "5m 2s" */
const char *ctl_fmt_age(char *buf, size_t len, int64_t ns);
void ctl_ds_json(struct ctl_json *j, const Gannet__DsInfo *d);

/* A progress line on stderr when c->tty; total 0 = unknown. */
void ctl_progress(struct ctl *c, const char *label, uint64_t done,
		  uint64_t total);
void ctl_progress_end(struct ctl *c);

/* ---- commands ---- */

int ctl_only_opts(struct ctl *c, const char *cmd, unsigned allowed);

int ctl_cmd_status(struct ctl *c, int argc, char **argv);
int ctl_cmd_ds(struct ctl *c, int argc, char **argv);
int ctl_cmd_df(struct ctl *c, int argc, char **argv);
int ctl_cmd_sessions(struct ctl *c, int argc, char **argv);
int ctl_cmd_degraded(struct ctl *c, int argc, char **argv);
int ctl_cmd_info(struct ctl *c, int argc, char **argv);
int ctl_cmd_policy(struct ctl *c, int argc, char **argv);
int ctl_cmd_fsck(struct ctl *c, int argc, char **argv);
int ctl_cmd_scrub(struct ctl *c, int argc, char **argv);
int ctl_cmd_stats(struct ctl *c, int argc, char **argv);
int ctl_cmd_warmup(struct ctl *c, int argc, char **argv);

#endif
