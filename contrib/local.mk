# contrib/: test runner, quickstart, benchmarks, systemd units.
dist_noinst_SCRIPTS += %reldir%/run-tests %reldir%/quickstart \
	%reldir%/deps.sh %reldir%/bench/cksum-bench
EXTRA_DIST += .ci/run t/lsan.supp

noinst_PROGRAMS += %reldir%/bench/cksum_bench
%canon_reldir%_bench_cksum_bench_SOURCES = %reldir%/bench/cksum_bench.c
%canon_reldir%_bench_cksum_bench_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) -O2
%canon_reldir%_bench_cksum_bench_LDADD = $(XXHASH_LIBS)

noinst_PROGRAMS += %reldir%/bench/nullfs
%canon_reldir%_bench_nullfs_SOURCES = %reldir%/bench/nullfs.c
%canon_reldir%_bench_nullfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
%canon_reldir%_bench_nullfs_LDADD = $(FUSE_LIBS)
dist_noinst_SCRIPTS += %reldir%/bench/lib-bench.sh %reldir%/bench/read-bench \
	%reldir%/bench/ckpt-bench %reldir%/bench/meta-bench %reldir%/bench/wb-bench \
	%reldir%/bench/cache-bench

include %reldir%/ops.mk
