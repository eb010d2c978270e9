/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* Stream (de)compression for image import and export, chosen by file name suffix, through the
 * libraries made for each format (zlib, liblzma, libzstd). */
typedef enum Compression {
        COMPRESSION_NONE,
        COMPRESSION_GZIP,
        COMPRESSION_XZ,
        COMPRESSION_ZSTD,
        _COMPRESSION_MAX,
        _COMPRESSION_INVALID = -EINVAL,
} Compression;

const char *compression_to_string(Compression c);
Compression compression_from_string(const char *s);

/* By suffix: .gz, .xz, .zst (else none). */
Compression compression_from_filename(const char *name);
/* name without a compression suffix, newly allocated. */
char *compression_strip_suffix(const char *name);

/* Called now and then with the bytes read from in so far. */
typedef void (*CompressProgress)(uint64_t bytes_in, void *userdata);

/* Copies in to out until EOF, compressing with c (or decompressing with decompress). A
 * truncated or corrupt compressed stream is -EBADMSG. */
int compress_stream(Compression c, bool decompress, int in, int out, CompressProgress progress, void *userdata);
