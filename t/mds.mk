# Tests of mds/.
