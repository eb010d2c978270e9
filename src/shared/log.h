/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* Logging for the binaries. Code in src/shared never calls these (it returns -errno instead);
 * a binary logs once where it decides what an error means. */

enum {
        LOG_LEVEL_ERR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_NOTICE = 5,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
};

void log_set_program_name(const char *name);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Where messages go; spawn's child keeps a copy of the original stderr after it rewires fd 2. */
void log_set_fd(int fd);
int log_get_fd(void);

/* Prefixed to every message after the program name until reset with NULL: spawn names the
 * settings file and line ("FILE:LINE") while it hands the file's values to the option parsers,
 * so their one-line errors say where the bad value is. The string must outlive its use. */
void log_set_context(const char *context);

/* Takes each message (formatted, without the program name and newline) instead of log_fd when it
 * returns true. spawn's container child sends its messages to the supervisor this way, which
 * prints them. NULL: none. */
typedef bool (*LogSink)(int level, int error, const char *message);
void log_set_sink(LogSink sink);

/* Logs with %m resolved to strerror(error) and returns -abs(error) (or 0 if error == 0). */
int log_internal(int level, int error, const char *format, ...) _printf_(3, 4);

#define log_error_errno(error, ...) log_internal(LOG_LEVEL_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_internal(LOG_LEVEL_WARNING, (error), __VA_ARGS__)
#define log_notice_errno(error, ...) log_internal(LOG_LEVEL_NOTICE, (error), __VA_ARGS__)
#define log_debug_errno(error, ...) log_internal(LOG_LEVEL_DEBUG, (error), __VA_ARGS__)
#define log_error(...) (void) log_internal(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warning(...) (void) log_internal(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_notice(...) (void) log_internal(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_info(...) (void) log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) (void) log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)

/* For "Failed to ...: %m" where the error is EINVAL-ish parse failures the user caused. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
