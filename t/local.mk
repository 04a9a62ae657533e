# t/: unit tests (Check) and integration scripts (tNNNN-area-what.sh).
