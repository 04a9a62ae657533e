#!/bin/bash
# t2002-ds-damage: with a real MDS and three data servers, a flipped byte
# in a stored chunk file is never returned as data: a read gets DATA_LOSS,
# the scrubber finds damage by itself, both are reported to the MDS, and
# the MDS has the replica copied again from a good one (re-replication);
# the scrubber makes one pass per scrub_interval_s.
. "$(dirname "$0")/lib-cluster.sh"
. "$(dirname "$0")/lib-ds.sh"

[ -x "$GN_DS_BIN" ] && [ -x "$GN_MDS_BIN" ] || gn_skip "gannet-ds or gannet-mds not built"
gn_start_mds --default-replicas=2
for i in 1 2 3; do gn_start_ds "$i" --scrub-rate=0; done
gn_wait_ds 3

ds_put_file /a 2 300000
ds_put_file /b 1 4194304 --zstd
ds_check_file /a 2 || gn_fail "replicas of /a wrong after writing"
ds_check_file /b 2 || gn_fail "replicas of /b wrong after writing"

# 1. Damage on read: chunk 0 of /a on its first replica.
read -r _ id v _ reps < <(ds_chunks /a | head -1)
bad=$(ds_num_of "$(ds_addr_of "${reps%%,*}")")
ds_flip "$bad" "$id" "$v" $((4096 + 70000))
"$GN_TT" ds-read "${GN_DS_ADDR[$bad]}" "$id" "$v" --expect=DATA_LOSS ||
	gn_fail "damaged replica not refused"
# The other blocks' reads would be served, but the replica is now
# quarantined: NOT_FOUND from here on, never the bad bytes.
"$GN_TT" ds-read "${GN_DS_ADDR[$bad]}" "$id" "$v" --expect=NOT_FOUND ||
	gn_fail "damaged replica still served"
gn_wait_for 10 grep -q "reported bad chunk chunk=$(printf %016x "$id")" "$T/ds$bad.log" ||
	gn_fail "damage found on read not reported to the MDS"
gn_wait_for 20 ds_check_file /a 2 || gn_fail "damaged replica of /a not repaired: $(ds_chunks /a)"

# 2. Damage found by the scrubber: chunk of /b on a stopped server, which
# then restarts with scrubbing on.
read -r _ id v _ reps < <(ds_chunks /b | head -1)
bad=$(ds_num_of "$(ds_addr_of "${reps##*,}")")
# A good version too, so that the scrubber has something to pass.
head -c 200000 /dev/urandom >"$T/good"
"$GN_TT" ds-write "${GN_DS_ADDR[$bad]}" 999999 1 "$T/good" >/dev/null || gn_fail "write good chunk"
gn_stop_ds "$bad"
ds_flip "$bad" "$id" "$v" $((4096 + 3000000))
gn_start_ds "$bad" --scrub-rate=64M
gn_wait_for 10 sh -c "'$GN_TT' ds-stat '${GN_DS_ADDR[$bad]}' | grep -qx bad_blocks=1" ||
	gn_fail "scrub did not find the damage: $("$GN_TT" ds-stat "${GN_DS_ADDR[$bad]}")"
gn_wait_for 10 grep -q "reported bad chunk chunk=$(printf %016x "$id")" "$T/ds$bad.log" ||
	gn_fail "damage found by scrub not reported"
gn_wait_for 20 ds_check_file /b 2 || gn_fail "damaged replica of /b not repaired: $(ds_chunks /b)"
scrubbed() { [ "$("$GN_TT" ds-stat "${GN_DS_ADDR[$bad]}" | sed -n 's/^scrubbed_blocks=//p')" -gt 0 ]; }
gn_wait_for 10 scrubbed || gn_fail "scrubber verified no good block"

# 3. One pass at start-up, then one per scrub_interval_s (a day by
# default): once the first pass is over the count stays put; with 0 the
# passes follow each other.
blocks() { "$GN_TT" ds-stat "${GN_DS_ADDR[$bad]}" | sed -n 's/^scrubbed_blocks=//p'; }
settled() { local a; a=$(blocks); sleep 1.5; [ "$a" = "$(blocks)" ]; }
gn_wait_for 30 settled || gn_fail "the start-up scrub pass did not end"
once=$(blocks)
sleep 3
gn_expect_eq "$once" "$(blocks)" "scrubbed blocks after the start-up pass"
gn_stop_ds "$bad"
gn_start_ds "$bad" --scrub-rate=64M --scrub-interval-s=0
more() { [ "$(blocks)" -gt "$once" ]; }
gn_wait_for 20 more || gn_fail "no second pass with scrub_interval_s=0: $(blocks) blocks, one pass $once"

# Nothing else was damaged or lost on the way.
gn_wait_for 10 ds_check_file /a 2 || gn_fail "/a changed: $(ds_chunks /a)"
exit 0
