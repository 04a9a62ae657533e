# Tests of ds/.
