/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *program_name = NULL;
static int max_level = LOG_LEVEL_INFO;
static int log_fd = STDERR_FILENO;
static LogSink log_sink = NULL;
static const char *log_context = NULL;

void log_set_program_name(const char *name) {
        program_name = name;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_fd(int fd) {
        log_fd = fd;
}

int log_get_fd(void) {
        return log_fd;
}

void log_set_context(const char *context) {
        log_context = context;
}

void log_set_sink(LogSink sink) {
        log_sink = sink;
}

int log_internal(int level, int error, const char *format, ...) {
        int saved_errno = errno;
        char buf[2048];
        size_t n = 0;
        va_list ap;

        if (error < 0)
                error = -error;

        if (level <= max_level) {
                if (program_name && level <= LOG_LEVEL_WARNING)
                        n = (size_t) snprintf(buf, sizeof(buf), "%s: ", program_name);

                size_t body = n;
                if (log_context) {
                        int c = snprintf(buf + n, sizeof(buf) - n, "%s: ", log_context);
                        if (c > 0)
                                n = MIN(n + (size_t) c, sizeof(buf) - 2);
                }

                /* %m must print the error we were given, not whatever errno happens to be. */
                errno = error;
                va_start(ap, format);
                int k = vsnprintf(buf + n, sizeof(buf) - n - 1, format, ap);
                va_end(ap);
                if (k > 0)
                        n = MIN(n + (size_t) k, sizeof(buf) - 2);
                buf[n] = 0;
                if (log_sink && log_sink(level, error, buf + body)) {
                        errno = saved_errno;
                        return -error;
                }
                buf[n++] = '\n';

                const char *p = buf;
                while (n > 0) {
                        ssize_t w = write(log_fd, p, n);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                break;
                        }
                        p += w;
                        n -= (size_t) w;
                }
        }

        errno = saved_errno;
        return -error;
}
