#!/bin/bash
# t2001-ds-chain: three data servers (no MDS needed): chain replication
# lands byte-exact on every replica, partial updates build new versions on
# each, a dead replica in the chain fails the write naming it, and bad
# requests get precise statuses without changing any store.
. "$(dirname "$0")/lib-cluster.sh"

[ -x "$GN_DS_BIN" ] || gn_skip "gannet-ds not built"
# The data servers retry their MDS in the background; none is needed here.
GN_MDS_ADDR=127.0.0.1:9
for i in 1 2 3; do gn_start_ds "$i" --scrub-rate=0; done
A1=${GN_DS_ADDR[1]} A2=${GN_DS_ADDR[2]} A3=${GN_DS_ADDR[3]}

head -c 4194304 /dev/urandom >"$T/rand"
# Compressible: text.
for i in $(seq 60000); do echo "line $i of a compressible gannet chunk"; done |
	head -c 3000000 >"$T/text"

read_is() {	# addr id version file [read options]
	local a=$1 id=$2 v=$3 f=$4; shift 4
	"$GN_TT" ds-read "$a" "$id" "$v" "$@" >"$T/out" || return 1
	cmp -s "$T/out" "$f"
}

# 1. A whole chunk along the chain, stored on all three byte-exact.
"$GN_TT" ds-write "$A1" 0x101 1 "$T/rand" --chain="$A2,$A3" >"$T/w" ||
	gn_fail "chain write failed"
grep -q "length=4194304" "$T/w" || gn_fail "bad write reply: $(cat "$T/w")"
for a in "$A1" "$A2" "$A3"; do
	read_is "$a" 0x101 1 "$T/rand" || gn_fail "replica $a differs after chain write"
done

# 2. Compressed, shorter chunk; a chain that names the first server too.
"$GN_TT" ds-write "$A1" 0x102 7 "$T/text" --zstd --chain="$A1,$A2,$A3" >/dev/null ||
	gn_fail "compressed chain write failed"
for a in "$A1" "$A2" "$A3"; do
	read_is "$a" 0x102 7 "$T/text" || gn_fail "compressed replica $a differs"
	stored=$("$GN_TT" ds-list "$a" | awk '$1 == "0000000000000102" { print $5 }')
	[ "$stored" -lt 1500000 ] || gn_fail "zstd chunk not compressed on $a: $stored bytes"
done
# A random read of one block in the middle.
dd if="$T/text" of="$T/blk" bs=65536 skip=20 count=1 2>/dev/null
read_is "$A3" 0x102 7 "$T/blk" --offset=$((20 * 65536)) --length=100 ||
	gn_fail "random read of a compressed block differs"

# 3. Partial update through the chain: version 2 = version 1 with 10000
# bytes at offset 1000000, built on every server from its own base.
head -c 10000 /dev/urandom >"$T/patch"
cp "$T/rand" "$T/v2"
dd if="$T/patch" of="$T/v2" bs=1 seek=1000000 conv=notrunc 2>/dev/null
"$GN_TT" ds-write "$A1" 0x101 2 "$T/patch" --base=1 --base-length=4194304 \
	--offset=1000000 --chunk-length=4194304 --chain="$A2,$A3" >/dev/null ||
	gn_fail "partial chain write failed"
for a in "$A1" "$A2" "$A3"; do
	read_is "$a" 0x101 2 "$T/v2" || gn_fail "partial update differs on $a"
	read_is "$a" 0x101 1 "$T/rand" || gn_fail "old version changed on $a"
done

# 4. A hung replica (stopped): the write fails within the caller's
# deadline, naming it.  Then a dead one: fails at once, naming it.
kill -STOP "${GN_DS_PID[3]}"
start=$SECONDS
if "$GN_TT" ds-write "$A1" 0x103 1 "$T/rand" --chain="$A2,$A3" --timeout=3000 \
	2>"$T/err"; then
	gn_fail "chain write with a hung replica succeeded"
fi
kill -CONT "${GN_DS_PID[3]}"
[ $((SECONDS - start)) -le 4 ] || gn_fail "hung chain took $((SECONDS - start)) s"
grep -q "replica $A3" "$T/err" || gn_fail "error does not name the hung replica: $(cat "$T/err")"
gn_stop_ds 3 KILL
start=$SECONDS
if "$GN_TT" ds-write "$A1" 0x103 1 "$T/rand" --chain="$A2,$A3" --timeout=5000 \
	2>"$T/err"; then
	gn_fail "chain write with a dead replica succeeded"
fi
[ $((SECONDS - start)) -lt 5 ] || gn_fail "chain failure took $((SECONDS - start)) s"
grep -q "replica $A3" "$T/err" || gn_fail "error does not name the dead replica: $(cat "$T/err")"

# 5. Bad requests: precise statuses, nothing stored.
"$GN_TT" ds-write "$A1" 0x104 1 "$T/rand" --bad-cksum --chain="$A2" --expect=DATA_LOSS ||
	gn_fail "bad checksum not refused"
"$GN_TT" ds-read "$A2" 0x104 1 --expect=NOT_FOUND || gn_fail "refused write left data"
"$GN_TT" ds-read "$A1" 0x104 1 --expect=NOT_FOUND || gn_fail "unknown chunk not NOT_FOUND"
"$GN_TT" ds-write "$A1" 0x101 1 "$T/patch" --expect=FAILED_PRECONDITION ||
	gn_fail "stale version not refused"
"$GN_TT" ds-write "$A1" 0x101 5 "$T/patch" --base=4 --base-length=10 --expect=NOT_FOUND ||
	gn_fail "missing base not NOT_FOUND"
"$GN_TT" ds-write "$A1" 0x105 1 "$T/patch" --offset=4194300 --expect=OUT_OF_RANGE ||
	gn_fail "write past 4 MiB not refused"
"$GN_TT" ds-write "$A1" 0x105 1 "$T/patch" --chunk-length=100 --expect=INVALID_ARGUMENT ||
	gn_fail "data longer than chunk_length not refused"
"$GN_TT" ds-read "$A1" 0x101 1 --offset=100 --expect=INVALID_ARGUMENT ||
	gn_fail "unaligned read not refused"
"$GN_TT" ds-read "$A1" 0x101 1 --offset=4194304 --length=65536 --expect=OUT_OF_RANGE ||
	gn_fail "read past 4 MiB not refused"
"$GN_TT" ds-write "$A1" 0x106 1 "$T/patch" --chain="nocolon" --expect=INVALID_ARGUMENT ||
	gn_fail "malformed chain not refused"
"$GN_TT" ds-list "$A1" >"$T/list" || gn_fail "list failed"
n=$(grep -c -E '^000000000000010[456] ' "$T/list")
gn_expect_eq 0 "$n" "versions stored by refused requests"

# 6. ReplicateChunk copies a version verbatim; DeleteChunk removes it.
"$GN_TT" ds-replicate "$A2" 0x102 7 "$A1" >/dev/null || gn_fail "replicate (present) failed"
"$GN_TT" ds-delete "$A2" 0x102 0 || gn_fail "delete failed"
"$GN_TT" ds-read "$A2" 0x102 7 --expect=NOT_FOUND || gn_fail "deleted version still readable"
"$GN_TT" ds-replicate "$A2" 0x102 7 "$A1" >/dev/null || gn_fail "replicate failed"
read_is "$A2" 0x102 7 "$T/text" || gn_fail "replicated copy differs"
"$GN_TT" ds-replicate "$A2" 0x999 1 "$A1" --expect=NOT_FOUND || gn_fail "replicate of unknown chunk"
# A copy of an older version is taken even when a newer one (say, left by a
# failed write) is here; a client write of an older version is not.
"$GN_TT" ds-write "$A2" 0x107 5 "$T/patch" >/dev/null || gn_fail "write v5"
"$GN_TT" ds-write "$A1" 0x107 3 "$T/blk" >/dev/null || gn_fail "write v3"
"$GN_TT" ds-write "$A2" 0x107 3 "$T/blk" --expect=FAILED_PRECONDITION || gn_fail "old write taken"
"$GN_TT" ds-replicate "$A2" 0x107 3 "$A1" >/dev/null || gn_fail "copy of an older version refused"
read_is "$A2" 0x107 3 "$T/blk" || gn_fail "copied older version differs"

# 7. Versions survive a restart.
gn_stop_ds 1
gn_start_ds 1 --scrub-rate=0
read_is "${GN_DS_ADDR[1]}" 0x101 2 "$T/v2" || gn_fail "version lost across restart"
exit 0
