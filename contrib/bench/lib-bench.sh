# lib-bench.sh - shared set-up for Gannet's benchmarks: a Gannet cluster on
# loopback, MooseFS (Debian's packages) in a network namespace of our own,
# a null FUSE filesystem (the FUSE ceiling of this machine), and helpers
# for medians and tables.  Sourced by contrib/bench/*-bench.
#
# Every benchmark measures its systems side by side in one run: the machine
# is shared and noisy, so only ratios taken together mean anything.
#
# Everything started here is stopped at exit (bench_cleanup runs on EXIT).
set -u
BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_BUILD=${GN_BUILD_DIR:-$BENCH_SRC/build-bench}
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gannet-bench.XXXXXX")
BENCH_NS=gnbench$$
BENCH_NS_HOST=10.231.$(( $$ % 250 )).1	# our end of the veth pair
BENCH_NS_ADDR=10.231.$(( $$ % 250 )).2	# MooseFS inside the namespace
declare -a BENCH_PIDS=() BENCH_MOUNTS=()

. "$BENCH_SRC/contrib/deps.sh"
gn_install_deps $GN_BUILD_DEPS $GN_RUN_DEPS $GN_BENCH_DEPS ||
	{ echo "bench: cannot install dependencies" >&2; exit 1; }

bench_log() { printf '# %s\n' "$*" >&2; }
bench_die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# Build Gannet optimised (no sanitizers) unless GN_BUILD_DIR points at a build.
bench_build() {
	[ -n "${GN_BUILD_DIR:-}" ] && return 0
	mkdir -p "$BENCH_BUILD"
	( cd "$BENCH_SRC" && { [ -x configure ] || autoreconf -fi; } &&
	  cd "$BENCH_BUILD" && { [ -f Makefile ] || "$BENCH_SRC/configure" -q CFLAGS=-O2; } &&
	  make -j2 ) >"$BENCH_TMP/build.log" 2>&1 || { tail -20 "$BENCH_TMP/build.log"; bench_die "build failed"; }
}

bench_wait_for() {	# seconds command...
	local end=$((SECONDS + $1)); shift
	while ! "$@" 2>/dev/null; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# --- Gannet: 1 MDS + 3 DS on 127.0.0.1, mounted at $1 ---
bench_gannet_up() {
	local mnt=$1 opts=${2:-${GN_MOUNT_OPTS:-}} i pf
	mkdir -p "$mnt" "$BENCH_TMP/g/mds"
	"$BENCH_BUILD/gannet-mds" --config=/dev/null --listen=127.0.0.1:0 \
		--data-dir="$BENCH_TMP/g/mds" --metrics-port=0 \
		--port-file="$BENCH_TMP/g/mds.port" ${GN_MDS_ARGS:-} >"$BENCH_TMP/g/mds.log" 2>&1 &
	BENCH_PIDS+=($!)
	bench_wait_for 15 test -s "$BENCH_TMP/g/mds.port" || bench_die "gannet-mds did not start"
	BENCH_GANNET_MDS=127.0.0.1:$(cat "$BENCH_TMP/g/mds.port")
	for i in 1 2 3; do
		mkdir -p "$BENCH_TMP/g/ds$i"
		pf=$BENCH_TMP/g/ds$i.port
		"$BENCH_BUILD/gannet-ds" --config=/dev/null --listen=127.0.0.1:0 \
			--data-dir="$BENCH_TMP/g/ds$i" --mds="$BENCH_GANNET_MDS" \
			--metrics-port=0 --reserve=0 --port-file="$pf" ${GN_DS_ARGS:-} \
			>"$BENCH_TMP/g/ds$i.log" 2>&1 &
		BENCH_PIDS+=($!)
		bench_wait_for 15 test -s "$pf" || bench_die "gannet-ds $i did not start"
	done
	bench_wait_for 20 bench__gannet_ds_up || bench_die "data servers did not register"
	"$BENCH_BUILD/gannet-fuse" -f "$BENCH_GANNET_MDS:/" "$mnt" ${opts:+-o "$opts"} \
		>"$BENCH_TMP/g/fuse.log" 2>&1 &
	BENCH_PIDS+=($!)
	BENCH_MOUNTS+=("$mnt")
	bench_wait_for 15 mountpoint -q "$mnt" || bench_die "gannet mount failed: $(tail -3 "$BENCH_TMP/g/fuse.log")"
}
bench__gannet_ds_up() {
	[ "$("$BENCH_BUILD/t/helper/test-tool" mds-ds-up "$BENCH_GANNET_MDS")" -ge 3 ]
}

# --- MooseFS: master + 2 chunkservers in namespace $BENCH_NS, 2 copies ---
# Its chunkservers refuse a master on 127.x, so it gets its own network
# namespace with a veth pair; the client (mfsmount) runs here and reaches
# the master at $BENCH_NS_ADDR.  nsenter --net keeps our mount namespace.
bench_moosefs_available() {
	command -v mfsmaster >/dev/null && command -v mfschunkserver >/dev/null &&
		command -v mfsmount >/dev/null && command -v ip >/dev/null
}

bench_moosefs_up() {
	local mnt=$1 d=$BENCH_TMP/mfs i
	bench_moosefs_available || return 1
	ip netns add "$BENCH_NS" || return 1
	ip link add "${BENCH_NS}h" type veth peer name "${BENCH_NS}n" || return 1
	ip link set "${BENCH_NS}n" netns "$BENCH_NS"
	ip addr add "$BENCH_NS_HOST/24" dev "${BENCH_NS}h"
	ip link set "${BENCH_NS}h" up
	ip netns exec "$BENCH_NS" ip addr add "$BENCH_NS_ADDR/24" dev "${BENCH_NS}n"
	ip netns exec "$BENCH_NS" ip link set "${BENCH_NS}n" up
	ip netns exec "$BENCH_NS" ip link set lo up
	mkdir -p "$d/master" "$mnt"
	cp /var/lib/mfs/metadata.mfs.empty "$d/master/metadata.mfs"
	echo "* / rw,alldirs,maproot=0" >"$d/exports.cfg"
	cat >"$d/master.cfg" <<EOC
WORKING_USER = root
WORKING_GROUP = root
DATA_PATH = $d/master
EXPORTS_FILENAME = $d/exports.cfg
MATOCS_LISTEN_HOST = $BENCH_NS_ADDR
MATOCL_LISTEN_HOST = $BENCH_NS_ADDR
MATOML_LISTEN_HOST = $BENCH_NS_ADDR
EOC
	nsenter --net=/var/run/netns/"$BENCH_NS" mfsmaster -c "$d/master.cfg" -f \
		>"$d/master.log" 2>&1 &
	BENCH_PIDS+=($!)
	for i in 1 2; do
		mkdir -p "$d/cs$i/data" "$d/cs$i/hdd"
		echo "$d/cs$i/hdd" >"$d/cs$i/hdd.cfg"
		cat >"$d/cs$i/cs.cfg" <<EOC
WORKING_USER = root
WORKING_GROUP = root
DATA_PATH = $d/cs$i/data
HDD_CONF_FILENAME = $d/cs$i/hdd.cfg
HDD_LEAVE_SPACE_DEFAULT = 64MiB
MASTER_HOST = $BENCH_NS_ADDR
BIND_HOST = $BENCH_NS_ADDR
CSSERV_LISTEN_HOST = $BENCH_NS_ADDR
CSSERV_LISTEN_PORT = $((9421 + i))
EOC
		nsenter --net=/var/run/netns/"$BENCH_NS" mfschunkserver -c "$d/cs$i/cs.cfg" -f \
			>"$d/cs$i.log" 2>&1 &
		BENCH_PIDS+=($!)
	done
	sleep 2
	mfsmount "$mnt" -H "$BENCH_NS_ADDR" -o mfscachemode=AUTO >"$d/mount.log" 2>&1 ||
		{ cat "$d/mount.log" >&2; return 1; }
	BENCH_MOUNTS+=("$mnt")
	bench_wait_for 10 mountpoint -q "$mnt" || return 1
	# Wait until both chunkservers registered, then ask for 2 copies.
	bench_wait_for 30 bench__mfs_writable "$mnt" || return 1
	mfssetgoal -r 2 "$mnt" >/dev/null 2>&1
	return 0
}
bench__mfs_writable() {
	local f=$1/.probe
	dd if=/dev/zero of="$f" bs=64k count=1 conv=fsync 2>/dev/null && rm -f "$f"
}

# --- null FUSE filesystem: zeros from memory, writes discarded ---
bench_nullfs_up() {	# mountpoint [direct_io]
	local mnt=$1
	mkdir -p "$mnt"
	"$BENCH_BUILD/contrib/bench/nullfs" "$mnt" ${2:+-o direct_io} >"$BENCH_TMP/nullfs.log" 2>&1 &
	BENCH_PIDS+=($!)
	BENCH_MOUNTS+=("$mnt")
	bench_wait_for 10 mountpoint -q "$mnt" || bench_die "nullfs mount failed"
}

# Raise read-ahead of a FUSE mount to 4 MiB (shared/notes/fuse.md: the
# kernel only lowers the bdi value from max_readahead, never raises it).
bench_readahead() {
	local dev
	dev=$(mountpoint -d "$1" 2>/dev/null) || return 0
	[ -w "/sys/class/bdi/$dev/read_ahead_kb" ] && echo 4096 >"/sys/class/bdi/$dev/read_ahead_kb"
}

bench_drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# median of the arguments
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}
# ratio a/b with 2 decimals, "-" when b is empty or 0
bench_ratio() {
	awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b + 0 == 0 || a == "-") print "-"; else printf "%.2f", a / b }'
}

# Unmount and stop everything started so far (a benchmark that compares
# builds brings a cluster up and down per run).
bench_stop() {
	local m p
	for m in "${BENCH_MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
	done
	for p in "${BENCH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${BENCH_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BENCH_PIDS=() BENCH_MOUNTS=()
}

bench_cleanup() {
	bench_stop
	ip netns list 2>/dev/null | grep -qw "$BENCH_NS" && ip netns del "$BENCH_NS"
	ip link del "${BENCH_NS}h" 2>/dev/null
	rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
