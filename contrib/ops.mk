# contrib/ parts of the operations issue (units, example config).
