#!/bin/bash
# t9004: gannetctl against a real cluster (an MDS and 3 data servers):
# status, ds list/drain/undrain/remove, df, sessions, degraded, info,
# policy get/set, fsck (clean, missing replica found and repaired, lost
# chunk, orphan, size mismatch), scrub; --json output parses; exit codes
# 0/1/2.
#
# Files with real chunks are made without FUSE: the MDS allocates and
# commits the chunk map (test-tool mds ... write), and the bytes are stored
# on each listed replica with the data server's own WriteChunk
# (test-tool ds-write), exactly what a client does.  With FUSE, a mount
# adds a session and a file written through the kernel.
. "$(dirname "$0")/lib-cluster.sh"

gn_need_cmd python3
# Members of [security] admin_gid may administer data servers too.
printf '[security]\nadmin_gid = 4242\n' >"$T/gannet.conf"
gn_cluster 3 --config="$T/gannet.conf"
ctl() { "$GN_CTL_BIN" --mds="$GN_MDS_ADDR" --timeout=5000 "$@"; }
# json EXPR [args...]: run gannetctl --json ARGS, evaluate the python EXPR
# on the parsed object `j` and print the result.
# Exit 1 of the command is allowed (fsck with problems); 2 is not.
json() {
	local expr=$1 rc; shift
	ctl --json "$@" >"$T/out.json"
	rc=$?
	[ $rc -le 1 ] || gn_fail "gannetctl --json $* exited $rc"
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$T/out.json" "$expr" || gn_fail "gannetctl --json $* is not valid JSON: $(head -c 300 "$T/out.json")"
}
mds() { "$GN_TT" mds "$GN_MDS_ADDR" "$@"; }
expect_rc() {	# rc message cmd...
	local want=$1 msg=$2; shift 2
	"$@" >"$T/rc.out" 2>"$T/rc.err"
	local rc=$?
	[ "$rc" = "$want" ] || gn_fail "$msg: exit $rc, expected $want ($(cat "$T/rc.err"))"
}

# --- exit codes and errors ---
expect_rc 2 "no command" "$GN_CTL_BIN"
expect_rc 2 "unknown command" ctl frobnicate
expect_rc 2 "unknown option" ctl --frobnicate status
expect_rc 2 "option of another command" ctl status --repair
expect_rc 2 "ds drain without id" ctl ds drain
expect_rc 2 "ds drain bad id" ctl ds drain abc
expect_rc 2 "policy set without change" ctl policy set /
expect_rc 2 "policy set bad replicas" ctl policy set / --replicas 9
expect_rc 2 "policy set bad compression" ctl policy set / --compression lz4
expect_rc 2 "info without path" ctl info
expect_rc 2 "degraded with an argument" ctl degraded /x
expect_rc 2 "degraded with an option of another command" ctl degraded --repair
expect_rc 0 "help" "$GN_CTL_BIN" --help
expect_rc 0 "version" "$GN_CTL_BIN" --version
grep -q "^gannetctl (gannet) " "$T/rc.out" || gn_fail "version line: $(cat "$T/rc.out")"
# An MDS nobody listens on: exit 1 with its address, quickly (no retry loop).
expect_rc 1 "unreachable MDS" "$GN_CTL_BIN" --mds=127.0.0.1:1 --timeout=2000 status
grep -q "127.0.0.1:1" "$T/rc.err" || gn_fail "error does not name the MDS: $(cat "$T/rc.err")"
# The MDS from the config file when --mds is absent.
printf '[client]\nmds = %s\n' "$GN_MDS_ADDR" >"$T/client.conf"
expect_rc 0 "MDS from --config" "$GN_CTL_BIN" --config="$T/client.conf" status

# --- status, ds list, df, sessions ---
ctl status >"$T/status" || gn_fail "status failed"
grep -q "^servers: *3 up, 0 down, 0 draining, 0 removed$" "$T/status" || gn_fail "status: $(cat "$T/status")"
grep -q "^health: *ok$" "$T/status" || gn_fail "status health: $(cat "$T/status")"
gn_expect_eq "3 ok" "$(json 'j["ds_count"]["up"], j["health"]' status | tr -d "(),'")" "status --json"
gn_expect_eq 3 "$(ctl ds list | grep -c ' up ')" "ds list rows up"
gn_expect_eq "['up', 'up', 'up']" "$(json '[s["state"] for s in j["servers"]]' ds list)" "ds list --json"
# Addresses in ds list are the data servers we started.
for i in 1 2 3; do
	json '[s["addr"] for s in j["servers"]]' ds list | grep -q "'${GN_DS_ADDR[$i]}'" ||
		gn_fail "ds list lacks ${GN_DS_ADDR[$i]}"
done
gn_expect_eq True "$(json 'j["total_bytes"] > 0 and j["free_bytes"] <= j["total_bytes"] and j["files"] >= 1' df)" "df --json"
ctl df | head -1 | grep -q "SIZE.*USED.*AVAIL" || gn_fail "df header"
json 'len(j["sessions"])' sessions >/dev/null
gn_expect_eq "0 0 0" "$(json 'len(j["chunks"]), j["degraded_chunks"], j["damaged_chunks"]' degraded | tr -d '(),')" "degraded --json of a healthy cluster"
gn_expect_eq "no degraded chunks" "$(ctl degraded)" "degraded of a healthy cluster"

# --- policy ---
mds mkdir /data >/dev/null || gn_fail "mkdir /data"
gn_expect_eq "/: replicas 2, compression none" "$(ctl policy get /)" "default root policy"
ctl policy set /data --replicas 3 --compression zstd >/dev/null || gn_fail "policy set"
gn_expect_eq "/data: replicas 3, compression zstd" "$(ctl policy get /data)" "policy after set"
ctl policy set /data --replicas 1 >/dev/null || gn_fail "policy set replicas only"
gn_expect_eq "1 zstd" "$(json 'j["replicas"], j["compression"]' policy get /data | tr -d "(),'")" \
	"policy set keeps the compression it was not given"
ctl policy set /data --replicas 3 >/dev/null
expect_rc 1 "policy of a missing path" ctl policy get /no/such
grep -q "No such file" "$T/rc.err" || gn_fail "missing path message: $(cat "$T/rc.err")"
gn_expect_eq "/: replicas 2, compression none" "$(ctl policy get /)" "root policy unchanged"

# --- users: read-only commands for anyone, changes for root only ---
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$GN_CTL_BIN" --mds="$GN_MDS_ADDR" --timeout=5000 "$@"; }
	for cmd in status "ds list" df sessions "policy get /data" "info /"; do
		# shellcheck disable=SC2086
		expect_rc 0 "'$cmd' as an unprivileged user" nobody $cmd
	done
	expect_rc 1 "ds drain as an unprivileged user" nobody ds drain 1
	grep -q "Operation not permitted" "$T/rc.err" || gn_fail "drain as nobody: $(cat "$T/rc.err")"
	expect_rc 1 "policy set as an unprivileged user" nobody policy set /data --replicas 1
	expect_rc 1 "degraded as an unprivileged user" nobody degraded
	grep -q "Operation not permitted" "$T/rc.err" || gn_fail "degraded as nobody: $(cat "$T/rc.err")"
	gn_expect_eq "/data: replicas 3, compression zstd" "$(ctl policy get /data)" "policy after a refused set"
	gn_expect_eq up "$(json '[s["state"] for s in j["servers"] if s["id"] == 1][0]' ds list)" "state after a refused drain"
	admin() { setpriv --reuid=65534 --regid=65534 --groups=4242 \
		"$GN_CTL_BIN" --mds="$GN_MDS_ADDR" --timeout=5000 "$@"; }
	expect_rc 0 "ds drain by a member of admin_gid" admin ds drain 1
	gn_expect_eq draining "$(json '[s["state"] for s in j["servers"] if s["id"] == 1][0]' ds list)" "state after an admin_gid drain"
	expect_rc 0 "ds undrain by a member of admin_gid" admin ds undrain 1
	expect_rc 0 "degraded by a member of admin_gid" admin degraded
	gn_expect_eq up "$(json '[s["state"] for s in j["servers"] if s["id"] == 1][0]' ds list)" "state after an admin_gid undrain"
fi

# --- a file with real chunks: 2 chunks (4 MiB + 1 MiB), 3 replicas each ---
addr_of() {	# ds id -> address
	json "[s['addr'] for s in j['servers'] if s['id'] == $1][0]" ds list
}
store_file() {	# path: write every replica of every chunk of path
	local line idx id ver len reps r
	mds chunks "$1" >"$T/chunks" || gn_fail "chunks of $1"
	while read -r idx id ver len reps; do
		[ "$idx" = "${idx#size=}" ] || continue
		id=${id#id=} ver=${ver#v=} len=${len#len=} reps=${reps#replicas=}
		head -c "$len" /dev/urandom >"$T/chunk.$idx"
		for r in ${reps//,/ }; do
			# Rewriting a version is idempotent: one retry covers a
			# connection refused under load (test-tool does not retry).
			"$GN_TT" ds-write "$(addr_of "$r")" "$id" "$ver" "$T/chunk.$idx" >/dev/null ||
				"$GN_TT" ds-write "$(addr_of "$r")" "$id" "$ver" "$T/chunk.$idx" >/dev/null ||
				gn_fail "ds-write chunk $id v$ver to ds $r"
		done
	done <"$T/chunks"
}
mds write /data/f 2 1048576 >/dev/null || gn_fail "write /data/f"
store_file /data/f

ctl info /data/f >"$T/info" || gn_fail "info /data/f: $(cat "$T/info")"
grep -q "^size: *5242880 " "$T/info" || gn_fail "info size: $(cat "$T/info")"
grep -q "^policy: *replicas 3, compression zstd$" "$T/info" || gn_fail "info policy: $(cat "$T/info")"
grep -q "^chunks: *2$" "$T/info" || gn_fail "info chunks: $(cat "$T/info")"
json 'j["type"], j["size"], len(j["chunks"]), [c["length"] for c in j["chunks"]], [len(c["replicas"]) for c in j["chunks"]]' \
	info /data/f >"$T/infoj"
gn_expect_eq "('file', 5242880, 2, [4194304, 1048576], [3, 3])" "$(cat "$T/infoj")" "info --json"
# Chunk ids, versions and replica addresses agree with the MDS and the servers.
while read -r idx id ver len reps; do
	[ "$idx" = "${idx#size=}" ] || continue
	hex=$(printf '%016x' "${id#id=}")
	got=$(json "[(c['chunk_id'], c['version'], sorted(r['addr'] for r in c['replicas'])) for c in j['chunks'] if c['index'] == $idx][0]" info /data/f)
	addrs=$(for r in $(echo "${reps#replicas=}" | tr , ' '); do addr_of "$r"; done)
	# shellcheck disable=SC2086
	want=$(python3 -c "import sys; print(('$hex', ${ver#v=}, sorted(sys.argv[1:])))" $addrs)
	gn_expect_eq "$want" "$got" "info chunk $idx"
	# The server reports the same chunk version and length.
	for r in $(echo "${reps#replicas=}" | tr , ' '); do
		"$GN_TT" ds-list "$(addr_of "$r")" | grep -q "^$hex ${ver#v=} ${len#len=} " ||
			gn_fail "ds $r does not list chunk ${id#id=} v${ver#v=}"
	done
done <"$T/chunks"
expect_rc 1 "info of a missing file" ctl info /data/nope
expect_rc 0 "info of the root" ctl info /

# --- fsck on a clean cluster reports nothing ---
ctl fsck >"$T/fsck" || gn_fail "fsck on a clean cluster failed: $(cat "$T/fsck")"
grep -q "^0 errors, 0 garbage replicas$" "$T/fsck" || gn_fail "fsck: $(cat "$T/fsck")"
gn_expect_eq "(True, 0, 0, 2, 6)" \
	"$(json 'j["clean"], j["errors"], len(j["problems"]), j["chunks"], j["replicas_checked"]' fsck)" "fsck --json"

# Truncating shortens the last chunk in the map only (same version): the
# servers' longer copies are not an error.
mds truncate /data/f 4195304 >/dev/null || gn_fail "truncate /data/f"
gn_expect_eq "[4194304, 1000]" "$(json '[c["length"] for c in j["chunks"]]' info /data/f)" "lengths after truncate"
expect_rc 0 "fsck after truncate" ctl fsck
grep -q "^0 errors, 0 garbage replicas$" "$T/rc.out" || gn_fail "fsck after truncate: $(cat "$T/rc.out")"

# --- a replica lost on one server: found, repaired, clean again ---
read -r _ id ver _ reps < <(grep "^0 " "$T/chunks")
id=${id#id=} ver=${ver#v=} reps=${reps#replicas=}
victim=${reps%%,*}
"$GN_TT" ds-delete "$(addr_of "$victim")" "$id" "$ver" >/dev/null || gn_fail "ds-delete"
expect_rc 1 "fsck with a missing replica" ctl fsck
grep -q "^missing .*/data/f chunk $(printf '%016x' "$id") v$ver ds $victim " "$T/rc.out" ||
	gn_fail "fsck did not report the missing replica: $(cat "$T/rc.out")"
gn_expect_eq "([('missing', '/data/f', $victim)], False)" \
	"$(json '[(p["kind"], p["path"], p["ds"]) for p in j["problems"]], j["clean"]' fsck)" "fsck --json problems"
expect_rc 0 "fsck --repair" ctl fsck --repair
grep -q "\[repaired\]" "$T/rc.out" || gn_fail "repair: $(cat "$T/rc.out")"
"$GN_TT" ds-list "$(addr_of "$victim")" | grep -q "^$(printf %016x "$id") $ver " ||
	gn_fail "replica not copied back"
expect_rc 0 "fsck after repair" ctl fsck
grep -q "^0 errors" "$T/rc.out" || gn_fail "fsck after repair: $(cat "$T/rc.out")"

# --- garbage is reported but is not an error ---
head -c 70000 /dev/urandom >"$T/orphan"
"$GN_TT" ds-write "${GN_DS_ADDR[1]}" 987654321 1 "$T/orphan" >/dev/null || gn_fail "orphan write"
expect_rc 0 "fsck with an orphan" ctl fsck
grep -q "^orphan .*chunk 000000003ade68b1 v1 ds 1" "$T/rc.out" || gn_fail "orphan not reported: $(cat "$T/rc.out")"
grep -q "^0 errors, 1 garbage replicas$" "$T/rc.out" || gn_fail "orphan counts: $(cat "$T/rc.out")"
"$GN_TT" ds-delete "${GN_DS_ADDR[1]}" 987654321 1 >/dev/null

# --- a chunk no server has: missing everywhere and lost ---
mds write /data/lost 1 4096 >/dev/null || gn_fail "write /data/lost"
expect_rc 1 "fsck with a lost chunk" ctl fsck
grep -q "^lost .*/data/lost chunk" "$T/rc.out" || gn_fail "lost chunk not reported: $(cat "$T/rc.out")"
gn_expect_eq 3 "$(grep -c '^missing .*/data/lost' "$T/rc.out")" "missing replicas of the lost chunk"
expect_rc 1 "fsck --repair cannot repair a lost chunk" ctl fsck --repair
mds unlink /data/lost >/dev/null || gn_fail "unlink /data/lost"

# --- a replica with the wrong length: an error; repair hands it to the MDS ---
read -r _ id ver len reps < <(grep "^1 " "$T/chunks")
id=${id#id=} ver=${ver#v=} len=${len#len=} reps=${reps#replicas=}
victim=${reps##*,}
head -c 500 /dev/urandom >"$T/short"
"$GN_TT" ds-write "$(addr_of "$victim")" "$id" "$ver" "$T/short" >/dev/null || gn_fail "short rewrite"
expect_rc 1 "fsck with a short replica" ctl fsck
grep -q "^size .*/data/f chunk .* ds $victim .*server has 500 bytes, MDS says 1000$" "$T/rc.out" ||
	gn_fail "size mismatch not reported: $(cat "$T/rc.out")"
expect_rc 0 "fsck --repair of a short replica" ctl fsck --repair
grep -q "^size .*ds $victim .*\[repaired\]$" "$T/rc.out" || gn_fail "size repair: $(cat "$T/rc.out")"
"$GN_TT" ds-list "$(addr_of "$victim")" | grep -q "^$(printf %016x "$id") $ver $len " ||
	gn_fail "bad replica not replaced: $("$GN_TT" ds-list "$(addr_of "$victim")")"
expect_rc 0 "fsck after repairing a short replica" ctl fsck
grep -q "^0 errors, 0 garbage" "$T/rc.out" || gn_fail "cluster not clean after repair: $(cat "$T/rc.out")"
gn_expect_eq 3 "$(json '[len(c["replicas"]) for c in j["chunks"]][1]' info /data/f)" "replicas after repair"

# --- scrub ---
expect_rc 0 "scrub start" ctl scrub start
stored=0
for i in 1 2 3; do
	stored=$((stored + $("$GN_TT" ds-list "${GN_DS_ADDR[$i]}" | wc -l)))
done
[ "$stored" -ge 6 ] || gn_fail "only $stored chunk versions stored"
gn_expect_eq "(0, $stored)" "$(json 'j["bad"], sum(s["chunks"] for s in j["servers"])' scrub start)" \
	"scrub start --json (bad, chunks verified)"
expect_rc 0 "scrub start on one server" ctl scrub start --ds 2
expect_rc 1 "scrub start on an unknown server" ctl scrub start --ds 42
gn_expect_eq 3 "$(json 'len([s for s in j["servers"] if "bad_blocks" in s])' scrub status)" "scrub status --json"

# --- a mount: its session, and info through its path ---
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && [ "$(id -u)" = 0 ]; then
	gn_mount "$T/mnt"
	gn_expect_eq 1 "$(json 'len(j["sessions"])' sessions)" "sessions with one mount"
	ctl sessions | grep -q "$(hostname)" || gn_fail "sessions does not show this host: $(ctl sessions)"
	head -c 6000000 /dev/urandom >"$T/src"
	cp "$T/src" "$T/mnt/data/g" || gn_fail "write through the mount"
	# The mount's own path resolves through /proc/self/mounts, and the
	# mount's MDS is used even with a wrong --mds.
	"$GN_CTL_BIN" --json info "$T/mnt/data/g" >"$T/g.json" || gn_fail "info via mount path"
	gn_expect_eq "('/data/g', 6000000, 2)" \
		"$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print((j["path"], j["size"], len(j["chunks"])))' "$T/g.json")" \
		"info through the mount"
	gn_wait_for 15 bash -c "'$GN_CTL_BIN' --mds=$GN_MDS_ADDR fsck | grep -q '^0 errors, 0 garbage'" ||
		gn_fail "fsck after a write through the mount: $(ctl fsck)"
	gn_umount "$T/mnt"
else
	gn_log "no FUSE here: mount part skipped"
fi

# --- drain, undrain, remove ---
expect_rc 0 "ds drain" ctl ds drain 3
gn_expect_eq draining "$(json '[s["state"] for s in j["servers"] if s["id"] == 3][0]' ds list)" "state after drain"
grep -q "^servers: .* 1 draining" <(ctl status) || gn_fail "status after drain: $(ctl status)"
expect_rc 0 "ds undrain" ctl ds undrain 3
gn_expect_eq up "$(json '[s["state"] for s in j["servers"] if s["id"] == 3][0]' ds list)" "state after undrain"
expect_rc 1 "drain of an unknown server" ctl ds drain 42
gn_stop_ds 3
gn_wait_for 15 bash -c "'$GN_CTL_BIN' --mds=$GN_MDS_ADDR ds list | grep -q ' down '" ||
	gn_fail "ds 3 not down: $(ctl ds list)"
grep -q "^servers: *2 up, 1 down" <(ctl status) || gn_fail "status with a server down: $(ctl status)"
expect_rc 0 "ds remove" ctl ds remove 3
gn_expect_eq removed "$(json '[s["state"] for s in j["servers"] if s["id"] == 3][0]' ds list)" "state after remove"
exit 0
