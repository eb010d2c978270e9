/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy-util.h"
#include "macro.h"
#include "tap.h"

int main(void) {
        char dir[] = "/var/tmp/berth-test-copy-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char path[sizeof(dir) + 8];
        snprintf(path, sizeof(path), "%s/src", dir);

        /* 1 MiB hole, 4 bytes of data, 1 MiB hole. */
        int src = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        CHECK(src >= 0);
        CHECK(pwrite(src, "data", 4, 1 << 20) == 4);
        CHECK(ftruncate(src, 2 << 20) == 0);

        int copy = -1;
        CHECK(copy_file_anonymous(src, dir, &copy) == 0);
        struct stat st;
        CHECK(fstat(copy, &st) == 0 && st.st_size == 2 << 20);
        char buf[8] = {};
        CHECK(pread(copy, buf, 4, 1 << 20) == 4 && memcmp(buf, "data", 4) == 0);
        CHECK(pread(copy, buf, 4, 0) == 4 && memcmp(buf, "\0\0\0\0", 4) == 0);
        /* Anonymous: nothing but src in the directory. */
        CHECK(st.st_nlink == 0);

        safe_close(copy);
        safe_close(src);
        unlink(path);
        rmdir(dir);
        return tap_finish();
}
