#!/bin/bash
# t3803-fs-fio-verify.sh - data integrity of the write path (issue #8) with
# fio --verify=crc32c: sequential 1 MiB writes, random writes of mixed
# sizes 4 KiB-1 MiB, 4 jobs writing disjoint 14 MiB ranges of one file at
# once (issue #8: "two writers to disjoint ranges of one file are
# correct"), and O_APPEND (python: one writer compared with a local
# reference copy, and two concurrent appenders whose self-describing
# records must all be intact and unmixed).  Everything is verified again
# after unmount + remount (fio --verify_only, cmp, record check).
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
gn_need_cmd fio
PY=/usr/bin/python3
QA=$GN_SRC_DIR/t/helper/qa-append.py
SIZE=${GN_QA_FIO_SIZE:-64M}

gn_cluster 3
# fio saves its verify state files in the working directory.
cd "$T" || gn_fail "cd $T"
gn_mount "$T/a"
A=$T/a

# fio exits 0 on a verify error unless verify_fatal is set; also look for
# its message in case a future fio changes that.
run_fio() {	# name file [args...]
	local name=$1 file=$2; shift 2
	fio --name="$name" --filename="$file" --ioengine=psync --size="$SIZE" \
		--verify=crc32c --verify_fatal=1 --randrepeat=1 "$@" \
		>"$T/fio-$name.out" 2>&1 &&
		! grep -qiE 'verify failed|bad magic|bad header|err= *[1-9]' "$T/fio-$name.out"
}
SEQ=(--rw=write --bs=1M --end_fsync=1)
RND=(--rw=randwrite --bssplit=4k/40:64k/30:256k/20:1m/10 --end_fsync=1)
# Ranges of 14 MiB: neighbours share a 4 MiB chunk (12-16 MiB, ...).
PAR=(--rw=randwrite --bs=64k --numjobs=4 --offset_increment=14M --end_fsync=1)

run_fio seq "$A/seq" "${SEQ[@]}" --do_verify=1 ||
	gn_fail "sequential 1 MiB write+verify: $(grep -iE 'verify|err' "$T/fio-seq.out" | head -5)"
run_fio rnd "$A/rnd" "${RND[@]}" --do_verify=1 ||
	gn_fail "random mixed-size write+verify: $(grep -iE 'verify|err' "$T/fio-rnd.out" | head -5)"

SIZE=14M run_fio par "$A/par" "${PAR[@]}" --do_verify=1 ||
	gn_fail "4 parallel writers of disjoint ranges: $(grep -iE 'verify|err' "$T/fio-par.out" | head -5)"

# O_APPEND: two sessions on the same file (the second open must append at
# the real end), compared with a local reference.
$PY "$QA" append "$A/app" "$T/app.ref" 1 120 || gn_fail "O_APPEND writer (1st open)"
$PY "$QA" append "$A/app" "$T/app.ref" 2 80 || gn_fail "O_APPEND writer (2nd open)"
cmp "$A/app" "$T/app.ref" || gn_fail "O_APPEND file differs from the reference"
# Two processes appending to one file at once: no record lost or mixed.
pids=()
for w in 0 1; do
	$PY "$QA" records "$A/rec" $w 150 2>"$T/rec$w.err" &
	pids+=($!)
done
for w in 0 1; do wait "${pids[$w]}" || gn_fail "appender $w: $(cat "$T/rec$w.err")"; done
$PY "$QA" check-records "$A/rec" 2 150 || gn_fail "concurrent O_APPEND records"

# Unmount (flushes everything) and verify with a new client process.
gn_umount "$A"
gn_mount "$T/b"
B=$T/b
run_fio seqv "$B/seq" "${SEQ[@]}" --verify_only ||
	gn_fail "sequential file after remount: $(grep -iE 'verify|err' "$T/fio-seqv.out" | head -5)"
run_fio rndv "$B/rnd" "${RND[@]}" --verify_only ||
	gn_fail "random-write file after remount: $(grep -iE 'verify|err' "$T/fio-rndv.out" | head -5)"
SIZE=14M run_fio parv "$B/par" "${PAR[@]}" --verify_only ||
	gn_fail "disjoint-ranges file after remount: $(grep -iE 'verify|err' "$T/fio-parv.out" | head -5)"
cmp "$B/app" "$T/app.ref" || gn_fail "O_APPEND file differs after remount"
$PY "$QA" check-records "$B/rec" 2 150 || gn_fail "concurrent O_APPEND records after remount"
exit 0
