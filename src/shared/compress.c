/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "compress.h"
#include "fd-util.h"
#include "string-table.h"

#define CHUNK (128 * 1024)

static const char *const compression_table[_COMPRESSION_MAX] = {
        [COMPRESSION_NONE] = "none",
        [COMPRESSION_GZIP] = "gzip",
        [COMPRESSION_XZ] = "xz",
        [COMPRESSION_ZSTD] = "zstd",
};
DEFINE_STRING_TABLE_LOOKUP(compression, Compression);

static const char *const compression_suffix[_COMPRESSION_MAX] = {
        [COMPRESSION_GZIP] = ".gz",
        [COMPRESSION_XZ] = ".xz",
        [COMPRESSION_ZSTD] = ".zst",
};

static bool has_suffix(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a > b && streq(s + a - b, suffix);
}

Compression compression_from_filename(const char *name) {
        for (Compression c = COMPRESSION_GZIP; c < _COMPRESSION_MAX; c++)
                if (has_suffix(name, compression_suffix[c]))
                        return c;
        return COMPRESSION_NONE;
}

char *compression_strip_suffix(const char *name) {
        Compression c = compression_from_filename(name);
        size_t n = strlen(name) - (c == COMPRESSION_NONE ? 0 : strlen(compression_suffix[c]));
        return strndup(name, n);
}

/* The reading side of every format: fills buf, 0 at EOF. */
static ssize_t read_some(int in, void *buf, size_t n, uint64_t *total, CompressProgress progress, void *userdata) {
        ssize_t k;
        do
                k = read(in, buf, n);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        *total += (uint64_t) k;
        if (progress && k > 0)
                progress(*total, userdata);
        return k;
}

static int copy_plain(int in, int out, CompressProgress progress, void *userdata) {
        _cleanup_free_ char *buf = malloc(CHUNK);
        uint64_t total = 0;
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read_some(in, buf, CHUNK, &total, progress, userdata);
                if (k <= 0)
                        return (int) k;
                int r = loop_write(out, buf, (size_t) k);
                if (r < 0)
                        return r;
        }
}

static int zlib_stream(bool decompress, int in, int out, CompressProgress progress, void *userdata) {
        z_stream z = {};
        /* 15 + 16: gzip framing; + 32 on input: gzip or zlib, detected. */
        int zr = decompress ? inflateInit2(&z, 15 + 32) : deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        if (zr != Z_OK)
                return -ENOMEM;
        _cleanup_free_ unsigned char *ibuf = malloc(CHUNK), *obuf = malloc(CHUNK);
        uint64_t total = 0;
        int r = ibuf && obuf ? 0 : -ENOMEM;
        bool eof = false, end = false;
        while (r >= 0 && !end) {
                if (z.avail_in == 0 && !eof) {
                        ssize_t k = read_some(in, ibuf, CHUNK, &total, progress, userdata);
                        if (k < 0) {
                                r = (int) k;
                                break;
                        }
                        eof = k == 0;
                        z.next_in = ibuf;
                        z.avail_in = (uInt) k;
                }
                z.next_out = obuf;
                z.avail_out = CHUNK;
                zr = decompress ? inflate(&z, Z_NO_FLUSH) : deflate(&z, eof ? Z_FINISH : Z_NO_FLUSH);
                if (zr == Z_STREAM_END)
                        end = true;
                else if (zr != Z_OK && zr != Z_BUF_ERROR)
                        r = -EBADMSG;
                else if (decompress && eof && z.avail_in == 0 && z.avail_out == CHUNK)
                        r = -EBADMSG; /* input over, stream not */
                if (r >= 0 && z.avail_out < CHUNK)
                        r = loop_write(out, obuf, CHUNK - z.avail_out);
        }
        (void) (decompress ? inflateEnd(&z) : deflateEnd(&z));
        return r;
}

static int xz_stream(bool decompress, int in, int out, CompressProgress progress, void *userdata) {
        lzma_stream s = LZMA_STREAM_INIT;
        lzma_ret lr = decompress ? lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED)
                                 : lzma_easy_encoder(&s, 6, LZMA_CHECK_CRC64);
        if (lr != LZMA_OK)
                return -ENOMEM;
        _cleanup_free_ uint8_t *ibuf = malloc(CHUNK), *obuf = malloc(CHUNK);
        uint64_t total = 0;
        int r = ibuf && obuf ? 0 : -ENOMEM;
        bool eof = false;
        while (r >= 0) {
                if (s.avail_in == 0 && !eof) {
                        ssize_t k = read_some(in, ibuf, CHUNK, &total, progress, userdata);
                        if (k < 0) {
                                r = (int) k;
                                break;
                        }
                        eof = k == 0;
                        s.next_in = ibuf;
                        s.avail_in = (size_t) k;
                }
                s.next_out = obuf;
                s.avail_out = CHUNK;
                lr = lzma_code(&s, eof ? LZMA_FINISH : LZMA_RUN);
                if (lr != LZMA_OK && lr != LZMA_STREAM_END)
                        r = -EBADMSG;
                if (r >= 0 && s.avail_out < CHUNK)
                        r = loop_write(out, obuf, CHUNK - s.avail_out);
                if (lr == LZMA_STREAM_END)
                        break;
        }
        lzma_end(&s);
        return r;
}

static int zstd_stream(bool decompress, int in, int out, CompressProgress progress, void *userdata) {
        ZSTD_DCtx *d = decompress ? ZSTD_createDCtx() : NULL;
        ZSTD_CCtx *c = decompress ? NULL : ZSTD_createCCtx();
        _cleanup_free_ uint8_t *ibuf = malloc(CHUNK), *obuf = malloc(CHUNK);
        uint64_t total = 0;
        int r = (d || c) && ibuf && obuf ? 0 : -ENOMEM;
        size_t pending = 0; /* decompression: nonzero while a frame is incomplete */
        bool eof = false, done = false;
        while (r >= 0 && !done) {
                ssize_t k = read_some(in, ibuf, CHUNK, &total, progress, userdata);
                if (k < 0) {
                        r = (int) k;
                        break;
                }
                eof = k == 0;
                /* Decompressing at EOF: the decoder may still hold output (it stops at block
                 * boundaries); drain it while it makes progress. A frame left incomplete then
                 * is a truncated stream. */
                while (eof && decompress && pending != 0 && r >= 0) {
                        ZSTD_inBuffer none = { ibuf, 0, 0 };
                        ZSTD_outBuffer ob = { obuf, CHUNK, 0 };
                        size_t z = ZSTD_decompressStream(d, &ob, &none);
                        if (ZSTD_isError(z))
                                r = -EBADMSG;
                        else if (ob.pos == 0)
                                break;
                        else {
                                pending = z;
                                r = loop_write(out, obuf, ob.pos);
                        }
                }
                if (eof && decompress)
                        break;
                ZSTD_inBuffer ib = { ibuf, (size_t) k, 0 };
                bool more;
                do {
                        ZSTD_outBuffer ob = { obuf, CHUNK, 0 };
                        size_t before = ib.pos;
                        size_t z = decompress ? ZSTD_decompressStream(d, &ob, &ib)
                                              : ZSTD_compressStream2(c, &ob, &ib, eof ? ZSTD_e_end : ZSTD_e_continue);
                        if (ZSTD_isError(z)) {
                                r = -EBADMSG;
                                break;
                        }
                        /* A call that did nothing (the previous one had filled the output just as
                         * the frame ended) answers with the next frame's header size: no news. */
                        if (decompress && (ob.pos > 0 || ib.pos > before))
                                pending = z;
                        if (ob.pos > 0 && (r = loop_write(out, obuf, ob.pos)) < 0)
                                break;
                        /* Compressing at the end: until the frame is flushed; else: until the
                         * input is used up and the output buffer was not filled. */
                        more = !decompress && eof ? z != 0 : ib.pos < ib.size || ob.pos == ob.size;
                } while (more);
                done = eof;
        }
        if (r >= 0 && decompress && pending != 0)
                r = -EBADMSG; /* truncated frame */
        ZSTD_freeDCtx(d);
        ZSTD_freeCCtx(c);
        return r;
}

int compress_stream(Compression c, bool decompress, int in, int out, CompressProgress progress, void *userdata) {
        switch (c) {
        case COMPRESSION_NONE:
                return copy_plain(in, out, progress, userdata);
        case COMPRESSION_GZIP:
                return zlib_stream(decompress, in, out, progress, userdata);
        case COMPRESSION_XZ:
                return xz_stream(decompress, in, out, progress, userdata);
        case COMPRESSION_ZSTD:
                return zstd_stream(decompress, in, out, progress, userdata);
        default:
                return -EINVAL;
        }
}
