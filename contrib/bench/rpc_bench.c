/*
 * rpc_bench.c - Gannet's RPC layer against raw TCP on loopback, in one run
 * (run it through contrib/bench/rpc-bench).
 *
 *   rpc_bench [-s] [-t SECONDS_PER_CASE]    (-s: small calls only)
 *
 * Prints one table: small-message round-trip latency (Ping / an 8-byte
 * TCP ping-pong), then for 4 MiB, 1 MiB and 256 KiB payloads with 1 and 8
 * calls in flight: throughput and CPU seconds per GB of client and server
 * for a one-way upload (Diag/Sink: payload in, tiny reply) and for raw TCP
 * (length-prefixed message in, 8-byte ack), and the ratios.
 *
 * Each server is a separate process (this program re-executed with
 * "serve-grpc" / "serve-tcp") reporting its getrusage on request over a
 * pipe, so client and server CPU are measured apart.  Both sides of both
 * transports use one TCP connection.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/rpc.h"
#include "common/util.h"
#include "diag.pb-c.h"

#define MIB ((size_t)1 << 20)

static double dur_s = 2.0;
static bool small_only;	/* -s: latency and call rate only */

static long minflt_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static int64_t cpu_ns_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       (int64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void die(const char *what)
{
	fprintf(stderr, "rpc_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- server side: control loop on stdin/stdout ---------------------- */

/* Announce the port, then answer "cpu" with our CPU time until EOF. */
static void control_loop(int port)
{
	char line[64];

	printf("%d\n", port);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		printf("%lld %ld\n", (long long)cpu_ns_self(), minflt_self());
		fflush(stdout);
	}
}

static int serve_grpc(void)
{
	struct gn_rpc_server_opts so = { .listen = "127.0.0.1:0", .workers = 2 };
	struct gn_rpc_server *srv;
	int port;

	gn_rpc_init();
	if (gn_rpc_server_new(&so, &srv) || gn_rpc_server_add_diag(srv, "bench") ||
	    gn_rpc_server_start(srv, &port))
		die("grpc server");
	control_loop(port);
	gn_rpc_server_free(srv);
	gn_rpc_shutdown();
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One connection: [u64 len][len bytes] in, [u64 len] back. */
static void *tcp_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	size_t cap = 16 * MIB;
	char *buf = gn_buf_alloc(cap);
	uint64_t len;

	while (read_full(fd, &len, sizeof(len)) == 0 && len <= cap &&
	       read_full(fd, buf, len) == 0 &&
	       write_full(fd, &len, sizeof(len)) == 0)
		;
	close(fd);
	gn_buf_free(buf, cap);
	return NULL;
}

static void *tcp_accept(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL), one = 1;
		pthread_t t;

		if (fd < 0)
			return NULL;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_create(&t, NULL, tcp_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

static int serve_tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	pthread_t t;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 16) || getsockname(lfd, (struct sockaddr *)&a, &alen))
		die("tcp server");
	pthread_create(&t, NULL, tcp_accept, (void *)(intptr_t)lfd);
	control_loop(ntohs(a.sin_port));
	return 0;
}

/* ---- client side ---------------------------------------------------- */

struct child {
	pid_t pid;
	FILE *in, *out;		/* its stdin / stdout */
	int port;
};

static void child_start(struct child *c, const char *mode)
{
	int to[2], from[2];

	/* CLOEXEC: a later child must not hold this one's stdin open. */
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		die("pipe");
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (c->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl("/proc/self/exe", "rpc_bench", mode, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	c->in = fdopen(to[1], "w");
	c->out = fdopen(from[0], "r");
	if (fscanf(c->out, "%d", &c->port) != 1)
		die("server did not start");
}

static int64_t child_cpu(struct child *c, long *minflt)
{
	long long v;

	fputs("cpu\n", c->in);
	fflush(c->in);
	if (fscanf(c->out, "%lld %ld", &v, minflt) != 2)
		die("server cpu");
	return v;
}

static void child_stop(struct child *c)
{
	fclose(c->in);
	fclose(c->out);
	waitpid(c->pid, NULL, 0);
}

struct result {
	double mbps;		/* MB/s (1e6 bytes) */
	double cli_s_gb, srv_s_gb;
	double srv_flt_mb;	/* server page faults per MB received */
};

/* Credits: at most `inflight` messages outstanding. */
struct credits {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int avail;
	long done;
	int failed;
};

static void credits_take(struct credits *cr)
{
	pthread_mutex_lock(&cr->mu);
	while (!cr->avail)
		pthread_cond_wait(&cr->cond, &cr->mu);
	cr->avail--;
	pthread_mutex_unlock(&cr->mu);
}

static void credits_give(struct credits *cr, bool ok)
{
	pthread_mutex_lock(&cr->mu);
	cr->avail++;
	cr->done++;
	if (!ok)
		cr->failed++;
	pthread_cond_signal(&cr->cond);
	pthread_mutex_unlock(&cr->mu);
}

static void credits_drain(struct credits *cr, int inflight)
{
	pthread_mutex_lock(&cr->mu);
	while (cr->avail < inflight)
		pthread_cond_wait(&cr->cond, &cr->mu);
	pthread_mutex_unlock(&cr->mu);
}

static void sink_done(struct gn_rpc_result *res, void *arg)
{
	credits_give(arg, res->err == 0);
	gn_rpc_result_release(res);
	free(res);
}

static const struct gn_rpc_callopts bench_opts = { .timeout_ms = 30000 };

static long grpc_run(struct gn_rpc_channel *ch, const void *buf, size_t len,
		     int inflight, double secs)
{
	struct credits cr = { .avail = inflight };
	int64_t end = gn_mono_ns() + (int64_t)(secs * 1e9);
	long sent = 0;

	pthread_mutex_init(&cr.mu, NULL);
	pthread_cond_init(&cr.cond, NULL);
	while (gn_mono_ns() < end) {
		Gannet__SinkRequest req = GANNET__SINK_REQUEST__INIT;

		credits_take(&cr);
		if (gn_rpc_call_async(ch, "/gannet.Diag/Sink", &req.base, buf,
				      len, &gannet__sink_reply__descriptor,
				      &bench_opts, sink_done, &cr))
			die("sink call");
		sent++;
	}
	credits_drain(&cr, inflight);
	if (cr.failed) {
		fprintf(stderr, "rpc_bench: %d sink calls failed\n", cr.failed);
		exit(1);
	}
	return sent;
}

struct tcp_client {
	int fd;
	struct credits cr;
};

static void *tcp_acks(void *arg)
{
	struct tcp_client *t = arg;
	uint64_t v;

	while (read_full(t->fd, &v, sizeof(v)) == 0)
		credits_give(&t->cr, true);
	return NULL;
}

static int tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static long tcp_run(int port, const void *buf, size_t len, int inflight,
		    double secs)
{
	struct tcp_client t = { .fd = tcp_connect(port) };
	int64_t end = gn_mono_ns() + (int64_t)(secs * 1e9);
	uint64_t hdr = len;
	long sent = 0;
	pthread_t acks;

	t.cr.avail = inflight;
	pthread_mutex_init(&t.cr.mu, NULL);
	pthread_cond_init(&t.cr.cond, NULL);
	pthread_create(&acks, NULL, tcp_acks, &t);
	while (gn_mono_ns() < end) {
		struct iovec iov[2] = {
			{ &hdr, sizeof(hdr) }, { (void *)buf, len },
		};
		ssize_t n;
		size_t left = sizeof(hdr) + len;
		int i = 0;

		credits_take(&t.cr);
		while (left) {
			n = writev(t.fd, iov + i, 2 - i);
			if (n < 0)
				die("writev");
			left -= (size_t)n;
			while (n && i < 2) {
				size_t k = GN_MIN((size_t)n, iov[i].iov_len);

				iov[i].iov_base = (char *)iov[i].iov_base + k;
				iov[i].iov_len -= k;
				n -= (ssize_t)k;
				if (!iov[i].iov_len)
					i++;
			}
		}
		sent++;
	}
	credits_drain(&t.cr, inflight);
	shutdown(t.fd, SHUT_RDWR);
	pthread_join(acks, NULL);
	close(t.fd);
	return sent;
}

/* Round trips of tiny messages; fills p50/p99 in microseconds. */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void percentiles(int64_t *v, int n, double *p50, double *p99)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	*p50 = (double)v[n / 2] / 1000.0;
	*p99 = (double)v[n * 99 / 100] / 1000.0;
}

#define LAT_N 3000

static void grpc_latency(struct gn_rpc_channel *ch, double *p50, double *p99)
{
	static int64_t v[LAT_N];

	for (int i = -300; i < LAT_N; i++) {
		Gannet__PingRequest req = GANNET__PING_REQUEST__INIT;
		struct gn_rpc_result res;
		int64_t t0 = gn_mono_ns();

		if (gn_rpc_call(ch, "/gannet.Diag/Ping", &req.base, NULL, 0,
				&gannet__ping_reply__descriptor, &bench_opts,
				&res))
			die("ping");
		if (i >= 0)
			v[i] = gn_mono_ns() - t0;
		gn_rpc_result_release(&res);
	}
	percentiles(v, LAT_N, p50, p99);
}

struct ping_thread {
	struct gn_rpc_channel *ch;
	int64_t end;
	long calls;
};

static void *ping_loop(void *arg)
{
	struct ping_thread *t = arg;

	while (gn_mono_ns() < t->end) {
		Gannet__PingRequest req = GANNET__PING_REQUEST__INIT;
		struct gn_rpc_result res;

		if (gn_rpc_call(t->ch, "/gannet.Diag/Ping", &req.base, NULL, 0,
				&gannet__ping_reply__descriptor, &bench_opts,
				&res))
			die("ping");
		gn_rpc_result_release(&res);
		t->calls++;
	}
	return NULL;
}

/* Synchronous Pings per second from n threads (an MDS-like load). */
static double grpc_call_rate(struct gn_rpc_channel *ch, int n,
			     struct child *srv, double *cli_us, double *srv_us)
{
	struct ping_thread t[64];
	pthread_t tid[64];
	int64_t t0 = gn_mono_ns(), c0 = cpu_ns_self(), s0, s1;
	long calls = 0, f;

	s0 = child_cpu(srv, &f);

	for (int i = 0; i < n; i++) {
		t[i] = (struct ping_thread){ ch, t0 + (int64_t)(dur_s * 1e9), 0 };
		pthread_create(&tid[i], NULL, ping_loop, &t[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		calls += t[i].calls;
	}
	s1 = child_cpu(srv, &f);
	*cli_us = (double)(cpu_ns_self() - c0) / 1e3 / (double)calls;
	*srv_us = (double)(s1 - s0) / 1e3 / (double)calls;
	return (double)calls / ((double)(gn_mono_ns() - t0) / 1e9);
}

static void tcp_latency(int port, double *p50, double *p99)
{
	static int64_t v[LAT_N];
	int fd = tcp_connect(port);
	uint64_t hdr = 8, msg = 42, ack;

	for (int i = -300; i < LAT_N; i++) {
		struct iovec iov[2] = { { &hdr, 8 }, { &msg, 8 } };
		int64_t t0 = gn_mono_ns();

		if (writev(fd, iov, 2) != 16 || read_full(fd, &ack, 8))
			die("tcp ping");
		if (i >= 0)
			v[i] = gn_mono_ns() - t0;
	}
	close(fd);
	percentiles(v, LAT_N, p50, p99);
}

static void measure(struct child *srv, long (*run)(void *, const void *,
		    size_t, int, double), void *ctx, const void *buf,
		    size_t len, int inflight, struct result *r)
{
	int64_t t0, c0, s0, t1, c1, s1;
	long f0, f1;
	double gb;
	long n;

	run(ctx, buf, len, inflight, 0.3);	/* warm up */
	s0 = child_cpu(srv, &f0);
	c0 = cpu_ns_self();
	t0 = gn_mono_ns();
	n = run(ctx, buf, len, inflight, dur_s);
	t1 = gn_mono_ns();
	c1 = cpu_ns_self();
	s1 = child_cpu(srv, &f1);
	gb = (double)n * (double)len / 1e9;
	r->mbps = gb * 1e3 / ((double)(t1 - t0) / 1e9);
	r->cli_s_gb = (double)(c1 - c0) / 1e9 / gb;
	r->srv_s_gb = (double)(s1 - s0) / 1e9 / gb;
	r->srv_flt_mb = (double)(f1 - f0) / (gb * 1e3);
}

static long run_grpc(void *ctx, const void *buf, size_t len, int inflight,
		     double secs)
{
	return grpc_run(ctx, buf, len, inflight, secs);
}

static long run_tcp(void *ctx, const void *buf, size_t len, int inflight,
		    double secs)
{
	return tcp_run(*(int *)ctx, buf, len, inflight, secs);
}

static int bench(void)
{
	static const size_t sizes[] = { 4 * MIB, 1 * MIB, 256 << 10 };
	static const int inflights[] = { 1, 8 };
	struct child g, t;
	struct gn_rpc_client *cli;
	struct gn_rpc_channel *ch;
	char target[64];
	double gp50, gp99, tp50, tp99, rate1, rate16, cu1, su1, cu16, su16;
	uint8_t *buf = gn_buf_alloc(4 * MIB);

	for (size_t i = 0; i < 4 * MIB; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	child_start(&g, "serve-grpc");
	child_start(&t, "serve-tcp");
	gn_rpc_init();
	if (gn_rpc_client_new(&cli))
		die("client");
	snprintf(target, sizeof(target), "127.0.0.1:%d", g.port);
	if (gn_rpc_channel_new(cli, target, NULL, &ch))
		die("channel");

	grpc_latency(ch, &gp50, &gp99);
	tcp_latency(t.port, &tp50, &tp99);
	rate1 = grpc_call_rate(ch, 1, &g, &cu1, &su1);
	rate16 = grpc_call_rate(ch, 16, &g, &cu16, &su16);
	printf("rpc-bench: loopback, %ld CPUs, %.1f s per case, 1 connection, "
	       "upload = Diag/Sink vs length-prefixed TCP message + ack\n",
	       sysconf(_SC_NPROCESSORS_ONLN), dur_s);
	printf("small round trip   gRPC Ping p50 %.0f us p99 %.0f us | "
	       "raw TCP 8 B p50 %.0f us p99 %.0f us\n", gp50, gp99, tp50,
	       tp99);
	printf("small calls/s      gRPC sync Ping, 1 thread %.0f (cpu us/call "
	       "client %.0f server %.0f), 16 threads %.0f (%.0f / %.0f)\n\n",
	       rate1, cu1, su1, rate16, cu16, su16);
	fflush(stdout);
	if (small_only)
		goto out;
	printf("%-8s %4s | %9s %8s %8s %7s | %9s %8s %8s | %6s %6s %6s\n",
	       "", "", "gRPC", "client", "server", "server", "raw TCP",
	       "client", "server", "gRPC/", "cli", "srv");
	printf("%-8s %4s | %9s %8s %8s %7s | %9s %8s %8s | %6s %6s %6s\n",
	       "payload", "infl", "MB/s", "s/GB", "s/GB", "flt/MB", "MB/s",
	       "s/GB", "s/GB", "TCP", "cpu x", "cpu x");
	for (size_t i = 0; i < GN_ARRAY_SIZE(sizes); i++)
		for (size_t k = 0; k < GN_ARRAY_SIZE(inflights); k++) {
			struct result gr, tr;
			char name[32];

			measure(&g, run_grpc, ch, buf, sizes[i], inflights[k], &gr);
			measure(&t, run_tcp, &t.port, buf, sizes[i],
				inflights[k], &tr);
			snprintf(name, sizeof(name), "%zu %s",
				 sizes[i] >= MIB ? sizes[i] / MIB : sizes[i] >> 10,
				 sizes[i] >= MIB ? "MiB" : "KiB");
			printf("%-8s %4d | %9.0f %8.3f %8.3f %7.1f | %9.0f %8.3f %8.3f |"
			       " %5.0f%% %6.2f %6.2f\n", name, inflights[k],
			       gr.mbps, gr.cli_s_gb, gr.srv_s_gb, gr.srv_flt_mb, tr.mbps,
			       tr.cli_s_gb, tr.srv_s_gb,
			       100.0 * gr.mbps / tr.mbps,
			       gr.cli_s_gb / tr.cli_s_gb,
			       gr.srv_s_gb / tr.srv_s_gb);
			fflush(stdout);
		}
out:
	gn_rpc_channel_free(ch);
	gn_rpc_client_free(cli);
	gn_rpc_shutdown();
	child_stop(&g);
	child_stop(&t);
	gn_buf_free(buf, 4 * MIB);
	return 0;
}

int main(int argc, char **argv)
{
	int opt;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "serve-grpc"))
		return serve_grpc();
	if (argc == 2 && !strcmp(argv[1], "serve-tcp"))
		return serve_tcp();
	while ((opt = getopt(argc, argv, "st:h")) != -1) {
		switch (opt) {
		case 's':
			small_only = true;
			break;
		case 't':
			dur_s = atof(optarg);
			if (dur_s <= 0 || dur_s > 60) {
				fprintf(stderr, "rpc_bench: -t 0..60\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: rpc_bench [-s] [-t SECONDS_PER_CASE]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	return bench();
}
