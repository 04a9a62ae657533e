#!/bin/bash
# Chunk maps and data-server bookkeeping with fake data servers driven by
# test-tool: placement by policy, superseded versions and truncated chunks
# queued for deletion, bad replica -> re-replication order -> DsReplicated,
# drain, unknown server, down after the timeout, StatFs.
. "$(dirname "$0")/lib-cluster.sh"

gn_start_mds --ds-timeout-ms=3000
tt() { "$GN_TT" mds "$GN_MDS_ADDR" "$@"; }
hb() { tt ds-heartbeat "$1" "uuid-$1"; }

for i in 1 2 3; do
	gn_expect_eq "$i" "$(tt ds-register "uuid-$i" "127.0.0.1:100$i")" "ds id $i"
done
gn_expect_eq 3 "$("$GN_TT" mds-ds-up "$GN_MDS_ADDR")" "servers up"
tt statfs | grep -q "total=$((3 << 40)) " || gn_fail "statfs total: $(tt statfs)"
tt policy / 2 none >/dev/null || gn_fail policy

tt write /f 2 1000 >/dev/null || gn_fail write
tt chunks /f >"$T/c1"
grep -q '^size=4195304$' "$T/c1" || gn_fail "size: $(cat "$T/c1")"
grep -c 'replicas=[0-9],[0-9]$' "$T/c1" | grep -q '^2$' || gn_fail "two replicas each: $(cat "$T/c1")"
# Two distinct servers per chunk.
sed -n 's/.*replicas=\([0-9]\),\([0-9]\)$/\1 \2/p' "$T/c1" | while read -r a b; do
	[ "$a" != "$b" ] || gn_fail "replicas on one server"
done

# Rewrite: same chunk ids, new versions, old ones deleted on their servers.
id0=$(sed -n 's/^0 id=\([0-9]*\) v=\([0-9]*\).*/\1 \2/p' "$T/c1")
tt write /f 2 1000 >/dev/null || gn_fail rewrite
tt chunks /f >"$T/c2"
gn_expect_eq "${id0% *}" "$(sed -n 's/^0 id=\([0-9]*\).*/\1/p' "$T/c2")" "chunk id kept on rewrite"
for i in 1 2 3; do hb "$i"; done >"$T/hb1"
grep -c "^del $id0\$" "$T/hb1" | grep -q '^2$' || gn_fail "old version not deleted on both replicas: $(cat "$T/hb1")"

# Truncate into chunk 0: chunk 1 dropped, chunk 0 shortened.
tt truncate /f 100 >/dev/null || gn_fail truncate
tt chunks /f >"$T/c3"
grep -q '^0 id=.* len=100 ' "$T/c3" || gn_fail "shortened chunk: $(cat "$T/c3")"
grep -q '^1 ' "$T/c3" && gn_fail "chunk past the end kept"
for i in 1 2 3; do hb "$i"; done | grep -q '^del ' || gn_fail "dropped chunk not queued for deletion"

# A bad replica is dropped and copied again from the other one.
read -r cid ver reps < <(sed -n 's/^0 id=\([0-9]*\) v=\([0-9]*\) len=[0-9]* replicas=\(.*\)/\1 \2 \3/p' "$T/c3")
bad=${reps%,*}
good=${reps#*,}
tt report-bad "$cid" "$ver" "$bad" >/dev/null || gn_fail report-bad
tt chunks /f | grep -q "replicas=$good\$" || gn_fail "bad replica still in the map"
third=$((6 - bad - good))
order() { hb "$good" >/dev/null; hb "$bad" >/dev/null; hb "$third" | grep "^rep $cid $ver from $good "; }
gn_wait_for 10 order >/dev/null || gn_fail "no re-replication order for server $third"
tt ds-replicated "$third" "$cid" "$ver" >/dev/null || gn_fail ds-replicated
tt chunks /f | grep -q "replicas=$good,$third\$" || gn_fail "new replica not added: $(tt chunks /f)"

# Drain: a replica on a draining server is copied elsewhere, then
# dropped from the map and deleted on the draining server.
tt write /g 1 5000 >/dev/null || gn_fail "write /g"
read -r gid gver greps < <(tt chunks /g | sed -n 's/^0 id=\([0-9]*\) v=\([0-9]*\) len=[0-9]* replicas=\(.*\)/\1 \2 \3/p')
x=${greps%,*}
y=${greps#*,}
z=$((6 - x - y))
tt ds-admin "$x" drain >/dev/null || gn_fail drain
drain_order() { hb "$x" >/dev/null; hb "$y" >/dev/null; hb "$z" | grep -q "^rep $gid $gver from "; }
gn_wait_for 10 drain_order || gn_fail "no copy ordered off the draining server"
tt ds-replicated "$z" "$gid" "$gver" >/dev/null || gn_fail "ds-replicated (drain)"
trimmed() { hb "$y" >/dev/null; hb "$z" >/dev/null; hb "$x" | grep -q "^del $gid $gver\$"; }
gn_wait_for 10 trimmed || gn_fail "replica on the draining server not deleted: $(tt chunks /g)"
tt chunks /g | grep -q "replicas=$y,$z\$" || gn_fail "map after drain: $(tt chunks /g)"
hb "$x" | grep -q '^draining$' || gn_fail "draining server not told"

# Unknown server, bad input.
gn_expect_eq EPERM "$(tt --uid=1000 --gid=1000 ds-admin 2 undrain 2>/dev/null)" "drain by a user outside admin_gid"
gn_expect_eq unknown "$(tt ds-heartbeat 77 uuid-77)" "unknown server"
gn_expect_eq EFBIG "$(tt truncate /f 99999999999999999 2>/dev/null)" "size past the limit"

# Servers that stop heartbeating go down.
down() { ! tt ds-list | grep -q -e ' UP$' -e ' DRAINING$'; }
gn_wait_for 10 down || gn_fail "servers not marked down"
tt ds-list | grep -q '^3 uuid-3 127.0.0.1:1003 DOWN$' || gn_fail "ds-list: $(tt ds-list)"
gn_expect_eq 0 "$("$GN_TT" mds-ds-up "$GN_MDS_ADDR")" "servers up at the end"
degraded() { tt status | grep -q 'degraded=2 damaged=2'; }
gn_wait_for 10 degraded || gn_fail "degraded chunks not counted: $(tt status)"
exit 0
