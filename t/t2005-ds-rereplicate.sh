#!/bin/bash
# t2005-ds-rereplicate: with a real MDS and three data servers (replicas
# 2), a data server killed with SIGKILL leaves its chunks degraded; the MDS
# orders copies from the survivors, and every chunk ends with two good
# replicas on live servers, byte-exact.  Draining moves data off a server
# the same way and refuses new chunks there.
. "$(dirname "$0")/lib-cluster.sh"
. "$(dirname "$0")/lib-ds.sh"

[ -x "$GN_DS_BIN" ] && [ -x "$GN_MDS_BIN" ] || gn_skip "gannet-ds or gannet-mds not built"
gn_start_mds --default-replicas=2
for i in 1 2 3; do gn_start_ds "$i" --scrub-rate=0; done
gn_wait_ds 3

ds_put_file /f 3 123456
ds_put_file /g 2 4194304 --zstd
ds_check_file /f 2 || gn_fail "replicas wrong after writing"
ds_check_file /g 2 || gn_fail "replicas wrong after writing"

# Kill the first replica of chunk 0 of /f.
read -r _ _ _ _ reps < <(ds_chunks /f | head -1)
dead_id=${reps%%,*}
dead=$(ds_num_of "$(ds_addr_of "$dead_id")")
gn_stop_ds "$dead" KILL
gn_log "killed data server $dead (id $dead_id)"

DS_DOWN_IDS=$dead_id
repaired() { ds_check_file /f 2 && ds_check_file /g 2; }
gn_wait_for 30 repaired ||
	gn_fail "not re-replicated: /f $(ds_chunks /f | tr '\n' ';') /g $(ds_chunks /g | tr '\n' ';')"
degraded() { "$GN_TT" mds "$GN_MDS_ADDR" status | sed -n 's/.*degraded=\([0-9]*\).*/\1/p'; }
no_degraded() { [ "$(degraded)" = 0 ]; }
gn_wait_for 10 no_degraded ||
	gn_fail "MDS still counts $(degraded) degraded chunks after re-replication"

# The killed server comes back: its stale copies do not matter, nothing
# is lost, and it is used again.
gn_start_ds "$dead" --scrub-rate=0
gn_wait_ds 3
DS_DOWN_IDS=

# Drain a server: its chunks are copied to the others, and it refuses
# new chunk ids.
drain=2
drain_id=$("$GN_TT" ds-stat "${GN_DS_ADDR[$drain]}" | sed -n 's/^id=//p')
"$GN_TT" mds "$GN_MDS_ADDR" ds-admin "$drain_id" drain >/dev/null || gn_fail "drain failed"
gn_wait_for 10 sh -c "'$GN_TT' ds-stat '${GN_DS_ADDR[$drain]}' | grep -qx state=2" ||
	gn_fail "data server did not learn it is draining"
head -c 1000 /dev/urandom >"$T/small"
"$GN_TT" ds-write "${GN_DS_ADDR[$drain]}" 999999 1 "$T/small" --expect=PERMISSION_DENIED ||
	gn_fail "draining server accepted a new chunk"
# The map changes under us while the MDS moves copies off the draining
# server: wait for a settled view.
gn_wait_for 15 ds_check_file /f 2 || gn_fail "/f damaged while draining: $(ds_chunks /f)"
gn_wait_for 15 ds_check_file /g 2 || gn_fail "/g damaged while draining: $(ds_chunks /g)"
exit 0
