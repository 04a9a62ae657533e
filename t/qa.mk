# Tests of the write path and cache coherence (issues #7, #8) written by
# the qa helper: PyTorch checkpoints, fio verify, cross-mount coherence,
# write error paths.  Python helpers run with /usr/bin/python3 (Debian's,
# with python3-torch); the torch tests skip (77) without it.
GN_INTEGRATION_TESTS += t/t3801-fs-torch-ckpt.sh t/t3802-fs-torch-shards.sh \
	t/t3803-fs-fio-verify.sh t/t3804-fs-cache-coherence.sh \
	t/t3805-fs-write-errors.sh t/t3807-fs-disk-cache.sh
EXTRA_DIST += t/helper/qa-torch.py t/helper/qa-append.py \
	t/helper/qa-coherence.py t/helper/qa-enospc.py
