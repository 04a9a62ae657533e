/*
 * daemon.h - what every Gannet daemon does the same way: signal handling
 * (SIGTERM/SIGINT finish in-flight work, then exit), systemd readiness
 * (sd_notify; a no-op when not started by a Type=notify unit), and the
 * shared --help/--version text.
 *
 * Call gn_daemon_block_signals() first in main(), before gn_rpc_init() or
 * any thread, so that every thread inherits the mask and only
 * gn_daemon_wait_signal() sees the signals.
 */
#ifndef GN_DAEMON_H
#define GN_DAEMON_H

#include <stdio.h>

void gn_daemon_block_signals(void);
/* Block until SIGTERM or SIGINT (returns it); SIGHUP is ignored. */
int gn_daemon_wait_signal(void);
/* sd_notify("READY=1\nSTATUS=<status>"). */
void gn_daemon_ready(const char *status);
/* sd_notify("STOPPING=1"). */
void gn_daemon_stopping(void);
/* "PROG (gannet) VERSION" on out. */
void gn_print_version(FILE *out, const char *prog);

#endif
