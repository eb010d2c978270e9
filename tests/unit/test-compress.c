/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compress.h"
#include "tap.h"

#define SIZE (3 * 1024 * 1024 + 17)

static int memfd_with(const void *data, size_t n) {
        int fd = memfd_create("t", MFD_CLOEXEC);
        if (fd < 0 || write(fd, data, n) != (ssize_t) n)
                return -1;
        lseek(fd, 0, SEEK_SET);
        return fd;
}

static size_t fd_size(int fd) {
        return (size_t) lseek(fd, 0, SEEK_END);
}

static void round_trip(Compression c, const char *data) {
        int in = memfd_with(data, SIZE), packed = memfd_create("p", MFD_CLOEXEC), out = memfd_create("o", MFD_CLOEXEC);
        CHECK(compress_stream(c, false, in, packed, NULL, NULL) == 0);
        CHECK(c == COMPRESSION_NONE || fd_size(packed) < SIZE / 4);
        lseek(packed, 0, SEEK_SET);
        CHECK(compress_stream(c, true, packed, out, NULL, NULL) == 0);
        CHECK(fd_size(out) == SIZE);
        char *back = malloc(SIZE);
        CHECK(pread(out, back, SIZE, 0) == SIZE && memcmp(back, data, SIZE) == 0);

        if (c != COMPRESSION_NONE) {
                /* Cut short: an error, not a short file passed off as complete. */
                size_t half = fd_size(packed) / 2;
                char *p = malloc(half);
                CHECK(pread(packed, p, half, 0) == (ssize_t) half);
                int cut = memfd_with(p, half), o2 = memfd_create("o2", MFD_CLOEXEC);
                CHECK(compress_stream(c, true, cut, o2, NULL, NULL) == -EBADMSG);
                free(p);
                close(cut);
                close(o2);
        }
        free(back);
        close(in);
        close(packed);
        close(out);
}

int main(void) {
        char *data = malloc(SIZE);
        for (size_t i = 0; i < SIZE; i++)
                data[i] = (char) ((i / 4096) % 7 == 0 ? rand() : (int) ('a' + i % 13));
        for (Compression c = 0; c < _COMPRESSION_MAX; c++)
                round_trip(c, data);
        /* Mostly zeros, as disk images are: output buffers fill exactly, frames end on them. */
        memset(data, 0, SIZE);
        memcpy(data + SIZE / 2, "middle", 6);
        for (Compression c = 0; c < _COMPRESSION_MAX; c++)
                round_trip(c, data);
        CHECK(compression_from_filename("a.raw.xz") == COMPRESSION_XZ);
        CHECK(compression_from_filename("a.tar.zst") == COMPRESSION_ZSTD);
        CHECK(compression_from_filename("a.tar.gz") == COMPRESSION_GZIP);
        CHECK(compression_from_filename("a.raw") == COMPRESSION_NONE);
        char *s = compression_strip_suffix("debian.raw.gz");
        CHECK_STREQ(s, "debian.raw");
        free(s);
        for (Compression c = 0; c < _COMPRESSION_MAX; c++)
                CHECK(compression_from_string(compression_to_string(c)) == c);
        free(data);
        return tap_finish();
}
