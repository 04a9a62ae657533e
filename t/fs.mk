# Tests of fs/.
