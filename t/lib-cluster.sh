# lib-cluster.sh - start Gannet daemons on loopback for one test script.
#
#   . "$(dirname "$0")/lib-cluster.sh"
#   gn_start_mds                 # GN_MDS_ADDR=127.0.0.1:PORT, GN_MDS_PID
#   gn_start_ds 1; gn_start_ds 2 # GN_DS_ADDR[i], GN_DS_PID[i], GN_DS_DIR[i]
#   gn_wait_ds 2                 # until the MDS lists 2 live data servers
#   gn_mount "$T/mnt"            # gannet-fuse in the foreground, backgrounded
#   ... assertions: gn_fail "message" exits 1 ...
#
# Every daemon listens on 127.0.0.1 with an ephemeral port (it writes the
# bound port to --port-file).  Everything started here is stopped, and every
# mount unmounted, when the script exits, whatever the reason.  State lives
# in $T (a fresh directory); it is removed on success and kept on failure
# (or always with GN_KEEP=1).  Binaries come from $GN_BUILD_DIR (default:
# the source tree, i.e. an in-tree build).
#
# Exit status convention: 0 pass, 1 fail, 77 skip.

set -u
GN_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GN_BUILD_DIR=${GN_BUILD_DIR:-$GN_SRC_DIR}
GN_TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/gannet-$GN_TEST_NAME.XXXXXX")
export T GN_BUILD_DIR GN_SRC_DIR

GN_MDS_BIN=$GN_BUILD_DIR/gannet-mds
GN_DS_BIN=$GN_BUILD_DIR/gannet-ds
GN_FUSE_BIN=$GN_BUILD_DIR/gannet-fuse
GN_CTL_BIN=$GN_BUILD_DIR/gannetctl
GN_TT=$GN_BUILD_DIR/t/helper/test-tool

declare -a GN_PIDS=()		# every process started here
declare -a GN_MOUNTS=()		# every mount made here
declare -a GN_DS_PID=() GN_DS_ADDR=() GN_DS_DIR=()
declare -A GN_MOUNT_PID=()
GN_MDS_PID= GN_MDS_ADDR= GN_MDS_PORT=
GN_FAILED=0

gn_log() { printf '# %s\n' "$*" >&2; }

gn_fail() {
	printf 'FAIL %s: %s\n' "$GN_TEST_NAME" "$*" >&2
	GN_FAILED=1
	exit 1
}

gn_skip() {
	printf 'SKIP %s: %s\n' "$GN_TEST_NAME" "$*" >&2
	exit 77
}

gn_need_root() { [ "$(id -u)" = 0 ] || gn_skip "needs root"; }

gn_need_fuse() {
	[ -c /dev/fuse ] || gn_skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || gn_skip "no fusermount3"
	gn_need_root
}

gn_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || gn_skip "needs $c"
	done
}

# Wait up to $1 seconds for the command in the rest to succeed.
gn_wait_for() {
	local secs=$1; shift
	local end=$((SECONDS + secs))
	while ! "$@" 2>/dev/null; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

gn_port_of() {	# file -> port once written
	[ -s "$1" ] && cat "$1"
}

# gn_start_daemon NAME PORTFILE BIN ARGS... ; prints nothing, sets REPLY=port
gn__start_daemon() {
	local name=$1 pf=$2; shift 2
	rm -f "$pf"
	"$@" --port-file="$pf" >>"$T/$name.log" 2>&1 &
	local pid=$!
	GN_PIDS+=("$pid")
	if ! gn_wait_for 15 test -s "$pf"; then
		kill -0 "$pid" 2>/dev/null || gn_fail "$name exited at start: $(tail -5 "$T/$name.log")"
		gn_fail "$name did not report its port within 15 s"
	fi
	GN__PID=$pid
	REPLY=$(cat "$pf")
}

# gn_start_mds [flags...]: a fresh store in $T/mds unless GN_MDS_DIR is set.
gn_start_mds() {
	GN_MDS_DIR=${GN_MDS_DIR:-$T/mds}
	mkdir -p "$GN_MDS_DIR"
	local listen=127.0.0.1:${GN_MDS_PORT:-0}
	gn__start_daemon mds "$T/mds.port" "$GN_MDS_BIN" --config=/dev/null \
		--listen="$listen" --data-dir="$GN_MDS_DIR" --metrics-port=0 \
		--ds-timeout-ms=3000 "$@"
	GN_MDS_PID=$GN__PID
	GN_MDS_PORT=$REPLY
	GN_MDS_ADDR=127.0.0.1:$REPLY
}

# gn_stop_mds [SIGNAL]: stop (default TERM) and wait for it.
gn_stop_mds() {
	local sig=${1:-TERM}
	[ -n "$GN_MDS_PID" ] || return 0
	kill -"$sig" "$GN_MDS_PID" 2>/dev/null
	wait "$GN_MDS_PID" 2>/dev/null
	GN_MDS_PID=
}

# gn_restart_mds [flags...]: same store, same port.
gn_restart_mds() {
	gn_stop_mds "${GN_RESTART_SIGNAL:-TERM}"
	gn_start_mds "$@"
}

# gn_start_ds I [flags...]: data server number I with store $T/dsI.
gn_start_ds() {
	local i=$1; shift
	GN_DS_DIR[$i]=${GN_DS_DIR[$i]:-$T/ds$i}
	mkdir -p "${GN_DS_DIR[$i]}"
	local port=0
	[ -n "${GN_DS_ADDR[$i]:-}" ] && port=${GN_DS_ADDR[$i]##*:}
	gn__start_daemon "ds$i" "$T/ds$i.port" "$GN_DS_BIN" --config=/dev/null \
		--listen=127.0.0.1:$port --data-dir="${GN_DS_DIR[$i]}" \
		--mds="$GN_MDS_ADDR" --metrics-port=0 --reserve=0 \
		--heartbeat-ms=300 "$@"
	GN_DS_PID[$i]=$GN__PID
	GN_DS_ADDR[$i]=127.0.0.1:$REPLY
}

gn_stop_ds() {
	local i=$1 sig=${2:-TERM}
	[ -n "${GN_DS_PID[$i]:-}" ] || return 0
	kill -"$sig" "${GN_DS_PID[$i]}" 2>/dev/null
	wait "${GN_DS_PID[$i]}" 2>/dev/null
	GN_DS_PID[$i]=
}

# gn_other_user_may_enter: the test runs commands as another user (nobody,
# with setpriv): it needs setpriv and must reach mount points under $T.
gn_other_user_may_enter() {
	gn_need_cmd setpriv
	chmod 755 "$T"
}

# gn_kill_all_ds: kill -9 every data server started; gn_restart_all_ds:
# start them again on their stores and ports, and wait until all are up.
gn_kill_all_ds() {
	local i
	for i in "${!GN_DS_DIR[@]}"; do gn_stop_ds "$i" KILL; done
}
gn_restart_all_ds() {
	local i
	for i in "${!GN_DS_DIR[@]}"; do gn_start_ds "$i"; done
	gn_wait_ds "${#GN_DS_DIR[@]}"
}

# gn_wait_ds N: until the MDS counts N data servers up.
gn_wait_ds() {
	local n=$1
	gn_wait_for 20 gn__ds_up_is "$n" ||
		gn_fail "MDS did not see $n data servers up: $("$GN_TT" mds-ds-up "$GN_MDS_ADDR" 2>&1)"
}
gn__ds_up_is() { [ "$("$GN_TT" mds-ds-up "$GN_MDS_ADDR")" -ge "$1" ]; }

# gn_cluster NDS [mds flags...]: an MDS and NDS data servers, all up.
gn_cluster() {
	local n=$1 i; shift
	gn_start_mds "$@"
	for ((i = 1; i <= n; i++)); do gn_start_ds "$i"; done
	gn_wait_ds "$n"
}

# gn_mount MNT [-o opts]: mount the cluster's root at MNT with gannet-fuse
# in the foreground (so its pid is ours), wait until it is mounted.
gn_mount() {
	local mnt=$1; shift
	mkdir -p "$mnt"
	local name=fuse$((${#GN_MOUNTS[@]} + 1))
	"$GN_FUSE_BIN" -f "$GN_MDS_ADDR:/" "$mnt" "$@" >>"$T/$name.log" 2>&1 &
	local pid=$!
	GN_PIDS+=("$pid")
	GN_MOUNTS+=("$mnt")
	GN_MOUNT_PID[$mnt]=$pid
	gn_wait_for 15 mountpoint -q "$mnt" ||
		gn_fail "mount of $mnt failed: $(tail -5 "$T/$name.log")"
}

# gn_mount_mem MNT CACHE_MIB WB_MIB [OPTS]: mount MNT with cache_size and
# writeback_limit in MiB (plus the comma-separated OPTS) and set
# GN_MEM_BOUND to the client's promised ceiling in KiB: cache_size +
# writeback_limit + 64 MiB.  In a sanitizer build ASan adds its runtime,
# shadow and quarantine: the client then runs with quarantine_size_mb=16
# and the bound is raised by a fixed 96 MiB (an idle ASan client is 60-70
# MiB against about 10 MiB plain, 16 MiB of quarantine, 1/8 shadow of the
# buffers); GN_MEM_NOTE says so for messages.
gn_mount_mem() {
	local mnt=$1 c=$2 w=$3 extra=${4:+,$4} had=${ASAN_OPTIONS+x} old=${ASAN_OPTIONS-}
	GN_MEM_BOUND=$(((c + w + 64) << 10)) GN_MEM_NOTE=
	if grep -qa __asan_init "$GN_FUSE_BIN"; then
		GN_MEM_BOUND=$((GN_MEM_BOUND + (96 << 10)))
		GN_MEM_NOTE=" (ASan build: +96 MiB allowance)"
		export ASAN_OPTIONS="${old:+$old:}quarantine_size_mb=16"
	fi
	gn_mount "$mnt" -o "cache_size=${c}M,writeback_limit=${w}M$extra"
	if [ -n "$had" ]; then export ASAN_OPTIONS="$old"; else unset ASAN_OPTIONS; fi
}

# gn_rss_peak PID PIDS...: sample PID's VmRSS every 0.1 s until all of
# PIDS have exited; GN_RSS_PEAK gets the larger of the sampled peak and
# PID's VmHWM (both KiB).  It does not reap PIDS: wait for them after.
gn_rss_peak() {
	local pid=$1 alive p r; shift
	GN_RSS_PEAK=0
	while :; do
		alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		[ -n "$r" ] && [ "$r" -gt "$GN_RSS_PEAK" ] && GN_RSS_PEAK=$r
		[ $alive = 1 ] || break
		sleep 0.1
	done
	r=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	[ -n "$r" ] && [ "$r" -gt "$GN_RSS_PEAK" ] && GN_RSS_PEAK=$r
}

gn_umount() {
	local mnt=$1 pid=${GN_MOUNT_PID[$1]:-}
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	GN_MOUNT_PID[$mnt]=
}

gn__cleanup() {
	local rc=$? m p
	for m in "${GN_MOUNTS[@]}"; do
		# /proc/mounts, not mountpoint(1): stat() of a mount whose MDS
		# is down blocks for op_timeout_ms and then fails, which left
		# stale mounts behind.
		grep -q " $m fuse" /proc/mounts 2>/dev/null &&
			{ fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; }
	done
	for p in "${GN_PIDS[@]}"; do
		# CONT: a test may have failed while it held a daemon stopped.
		kill -TERM "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null
	done
	for p in "${GN_PIDS[@]}"; do
		# Give each 5 s to exit cleanly, then kill it.
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- last lines of $(basename "$f") ---" >&2
			tail -20 "$f" >&2
		done
	fi
	if [ "${GN_KEEP:-0}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ]; }; then
		echo "# state kept in $T" >&2
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap gn__cleanup EXIT
trap 'exit 130' INT TERM

# Assertions.
gn_expect_eq() {	# expected actual message
	[ "$1" = "$2" ] || gn_fail "$3: expected '$1', got '$2'"
}
# gn_expect_errno ERRNAME cmd...: run cmd (a test-tool call printing the
# errno name it got, or OK) and compare.
gn_expect_fail() {	# message cmd...: cmd must fail
	local msg=$1; shift
	if "$@" 2>/dev/null; then gn_fail "$msg: succeeded"; fi
}
