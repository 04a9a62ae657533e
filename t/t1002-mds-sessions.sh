#!/bin/bash
# Sessions and leases over RPC: a change by one session recalls another
# session's lease (delivered by its long-poll heartbeat); one Close call
# closes a batch of handles (or none, over its limit); a session that
# stops heartbeating expires and its open-unlinked file is reclaimed, its
# chunk versions queued for deletion on the data server.
. "$(dirname "$0")/lib-cluster.sh"

# The orphan's session must outlive the two checks that follow its
# creation: 4 s leaves room for slow sanitizer builds, and expiry is
# waited for below, not timed.
gn_start_mds --session-timeout-ms=4000 --lease-ms=3000
A=$GN_MDS_ADDR
tt() { "$GN_TT" mds "$A" "$@"; }

tt mkdir /d >/dev/null || gn_fail "mkdir"
ino=$(tt stat /d | sed 's/^ino=\([0-9]*\).*/\1/')
out=$(tt lease-recall /d 0700) || gn_fail "lease recall: $out"
gn_expect_eq "recalled kind=ATTR ino=$ino" "$out" "recall delivered to the lease holder"
tt stat /d | grep -q 'mode=40700' || gn_fail "chmod by the second session not applied"

# A fake data server so that chunks can be allocated.
id=$(tt ds-register uuid-t1002 127.0.0.1:9) || gn_fail "ds-register"
tt policy / 1 none >/dev/null || gn_fail "policy"

out=$(tt orphan /o | tail -1) || gn_fail "orphan: $out"
oino=$(echo "$out" | sed 's/^ino=\([0-9]*\).*/\1/')
sid=$(echo "$out" | sed 's/.*session=//')
tt stat /o | grep -q ENOENT || gn_fail "unlinked name still there"
tt stat "#$oino" | grep -q 'nlink=0' || gn_fail "open-unlinked file not kept while its session lives"
tt sessions | grep -q "^$sid " || gn_fail "session $sid not listed"

gone() { tt stat "#$oino" | grep -q ENOENT; }
gn_wait_for 15 gone || gn_fail "open-unlinked file not reclaimed after session expiry"
tt sessions | grep -q "^$sid " && gn_fail "expired session still listed"
tt ds-heartbeat "$id" uuid-t1002 | grep -q '^del ' ||
	gn_fail "reclaimed chunk not queued for deletion"
# Any request naming an expired or unknown session is refused.
gn_expect_eq EUNATCH "$(tt --session="$sid" stat / 2>/dev/null)" "request of an expired session"
gn_expect_eq EUNATCH "$(tt --session=987654 mkdir /x 2>/dev/null)" "request of an unknown session"
tt stat /x | grep -q ENOENT || gn_fail "refused request changed the store"
# Deletions are handed out once.
tt ds-heartbeat "$id" uuid-t1002 | grep -q '^del ' && gn_fail "deletion handed out twice"
# One Close carrying many handles (a client batches its releases): each
# open-unlinked file goes at once; over the limit, the call changes nothing.
tt mkdir /cb >/dev/null || gn_fail "mkdir /cb"
gn_expect_eq ok "$(tt close-batch /cb 8 | tail -1)" "batched close"
exit 0
