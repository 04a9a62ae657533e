/* test-tool.c - dispatch; see test-tool.h */
#include "config.h"
#include "t/helper/test-tool.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct tt_cmd cmds[] = {
	{ "cksum", tt_cksum, "cksum FILE  (block checksums of FILE, one per line)" },
};

/* Print the XXH3 checksum of each 64 KiB block of a file: tests use it to
 * know what a data server must have stored. */
int tt_cksum(int argc, char **argv)
{
	static char buf[GN_BLOCK_SIZE];
	ssize_t n;
	int fd;

	if (argc != 2)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "cannot open '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		printf("%016" PRIx64 "\n", gn_cksum(buf, (size_t)n));
	close(fd);
	return n < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	gn_log_init("test-tool", GN_LOG_WARN);
	if (argc >= 2) {
		for (size_t i = 0; i < GN_ARRAY_SIZE(cmds); i++) {
			if (!strcmp(argv[1], cmds[i].name)) {
				int ret = cmds[i].fn(argc - 1, argv + 1);
				if (ret == 2)
					fprintf(stderr, "usage: test-tool %s\n", cmds[i].usage);
				return ret;
			}
		}
	}
	fprintf(stderr, "usage: test-tool COMMAND [ARGS]\ncommands:\n");
	for (size_t i = 0; i < GN_ARRAY_SIZE(cmds); i++)
		fprintf(stderr, "  %s\n", cmds[i].usage);
	return 2;
}
