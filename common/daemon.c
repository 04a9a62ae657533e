/* daemon.c - see daemon.h.  Readiness goes through libsystemd's
 * sd_notify(), which speaks the notify socket protocol correctly (abstract
 * sockets, credentials) and does nothing outside systemd. */
#include "config.h"
#include "common/daemon.h"

#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

static sigset_t daemon_sigs(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	return set;
}

void gn_daemon_block_signals(void)
{
	sigset_t set = daemon_sigs();

	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A peer closing a connection must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
}

int gn_daemon_wait_signal(void)
{
	sigset_t set = daemon_sigs();
	int sig;

	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig != SIGHUP)
			return sig;
	}
}

void gn_daemon_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void gn_daemon_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void gn_print_version(FILE *out, const char *prog)
{
	fprintf(out, "%s (%s) %s\n", prog, PACKAGE_NAME, PACKAGE_VERSION);
}
