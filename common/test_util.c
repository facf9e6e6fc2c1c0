// SPDX-License-Identifier: GPL-2.0
/* test_util.c - size parsing and atomic writes of libabcommon. */
#include "ab_common.h"
#include "ab_check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} sizes[] = {
	    {"0", 0, 0},
	    {"4096", 0, 4096},
	    {"0x10", 0, 16},
	    {"64M", 0, 64 << 20},
	    {"64MiB", 0, 64 << 20},
	    {"2g", 0, 2ull << 30},
	    {"1T", 0, 1ull << 40},
	    {"512k", 0, 512 << 10},
	    {"", -1, 0},
	    {"-1", -1, 0},
	    {"12x", -1, 0},
	    {"64Mb", -1, 0},
	    {"99999999999T", -1, 0},
	    {"M", -1, 0},
	};
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t v = 12345;
		int ret = ab_parse_size(sizes[i].s, &v);

		CHECK(ret == sizes[i].ret, "'%s': returned %d", sizes[i].s, ret);
		if (!ret && !sizes[i].ret)
			CHECK(v == sizes[i].v, "'%s': %llu", sizes[i].s, (unsigned long long)v);
	}

	/* page-count lists (--pages, --batch) */
	{
		int64_t v[4];
		char e[128] = "";

		CHECK(ab_parse_count_list("--batch", "1,64,all", true, v, 4, e, sizeof(e)) == 3 &&
			  v[0] == 1 && v[1] == 64 && v[2] == 0,
		      "1,64,all: %s", e);
		CHECK(ab_parse_count_list("--pages", "all", false, v, 4, e, sizeof(e)) == -1 &&
			  strstr(e, "--pages") && strstr(e, "'all'"),
		      "all accepted without all_ok: %s", e);
		static const char *const bad[] = {"", "0", "-1", "1x", ",", "2000000000", "1,,x"};
		for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			e[0] = 0;
			CHECK(ab_parse_count_list("--batch", bad[i], true, v, 4, e, sizeof(e)) ==
				      -1 &&
				  strstr(e, "--batch"),
			      "'%s' accepted", bad[i]);
		}
		CHECK(ab_parse_count_list("--batch", "1,2,3,4,5", true, v, 4, e, sizeof(e)) == -1 &&
			  strstr(e, "at most 4"),
		      "5 values into 4: %s", e);
	}

	char dir[] = "/tmp/ab_util_XXXXXX", path[64];
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/a/b/out.txt", dir);
	char sub[64];
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	CHECK(ab_mkdir_p(sub) == 0, "mkdir -p %s", sub);
	CHECK(ab_write_atomic(path, "hello\n", 6) == 0, "atomic write");
	CHECK(ab_mkdir_p(path) == -ENOTDIR, "mkdir -p over a file: want -ENOTDIR");
	size_t len = 0;
	char *got = ab_read_file(path, &len);
	CHECK(got && len == 6 && !memcmp(got, "hello\n", 6), "read back");
	free(got);
	struct stat st;
	CHECK(stat(ab_tmp_path(path), &st) != 0, "temp file left behind");
	/* A write into a missing directory fails and leaves nothing. */
	snprintf(path, sizeof(path), "%s/missing/out.txt", dir);
	CHECK(ab_write_atomic(path, "x", 1) < 0, "write into a missing dir succeeded");
	unlink(ab_tmp_path(path));
	snprintf(path, sizeof(path), "%s/a/b/out.txt", dir);
	unlink(path);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
	CHECK(rmdir(dir) == 0, "leftovers in %s", dir);
	return ab_check_report("util");
}
