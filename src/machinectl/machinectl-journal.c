/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "fd-util.h"
#include "machinectl-journal.h"
#include "macro.h"
#include "string-table.h"

static const char *const journal_mode_table[_JOURNAL_MODE_MAX] = {
        [JOURNAL_SHORT] = "short",
        [JOURNAL_SHORT_ISO] = "short-iso",
        [JOURNAL_SHORT_PRECISE] = "short-precise",
        [JOURNAL_CAT] = "cat",
};

DEFINE_STRING_TABLE_LOOKUP(journal_mode, JournalMode)

/* A field's value as a NUL-terminated string, or NULL. */
static char *field(sd_journal *j, const char *name) {
        const void *data;
        size_t len, k = strlen(name);

        if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= k || ((const char *) data)[k] != '=')
                return NULL;
        return strndup((const char *) data + k + 1, len - k - 1);
}

static void print_entry(FILE *f, sd_journal *j, JournalMode mode) {
        _cleanup_free_ char *msg = field(j, "MESSAGE");
        uint64_t usec = 0;
        char ts[64] = "";

        if (mode == JOURNAL_CAT) {
                fprintf(f, "%s\n", msg ?: "");
                return;
        }
        _cleanup_free_ char *host = field(j, "_HOSTNAME"), *ident = field(j, "SYSLOG_IDENTIFIER");
        _cleanup_free_ char *comm = ident ? NULL : field(j, "_COMM"), *pid = field(j, "_PID");
        (void) sd_journal_get_realtime_usec(j, &usec);
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        if (localtime_r(&t, &tm)) {
                if (mode == JOURNAL_SHORT_ISO)
                        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S%z", &tm);
                else {
                        size_t w = strftime(ts, sizeof(ts), "%b %d %H:%M:%S", &tm);
                        if (mode == JOURNAL_SHORT_PRECISE)
                                snprintf(ts + w, sizeof(ts) - w, ".%06llu", (unsigned long long) (usec % 1000000));
                }
        }
        fprintf(f, "%s %s %s", ts, host ?: "localhost", ident ?: comm ?: "unknown");
        if (pid)
                fprintf(f, "[%s]", pid);
        fprintf(f, ": %s\n", msg ?: "");
}

static int guest_machine_id(pid_t leader, char ret[static 33]) {
        char path[64];
        _cleanup_free_ char *s = NULL;

        snprintf(path, sizeof(path), "/proc/%i/root", (int) leader);
        _cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        _cleanup_close_ int fd = open_regular_in_root(root, "/etc/machine-id", 4096);
        if (fd < 0)
                return fd;
        int r = read_full_fd(fd, 4096, &s, NULL);
        if (r < 0)
                return r;
        if (strcspn(s, "\n") != 32 || strspn(s, "0123456789abcdefABCDEF") < 32)
                return -EINVAL;
        memcpy(ret, s, 32);
        ret[32] = 0;
        return 0;
}

int show_machine_journal(FILE *f, pid_t leader, unsigned n, JournalMode mode) {
        sd_journal *j = NULL;
        char root[64], id[33], match[64];
        int r;

        if (n == 0)
                return 0;
        snprintf(root, sizeof(root), "/proc/%i/root", (int) leader);
        r = sd_journal_open_directory(&j, root, SD_JOURNAL_OS_ROOT);
        if (r < 0)
                return r;
        if (guest_machine_id(leader, id) >= 0) {
                snprintf(match, sizeof(match), "_MACHINE_ID=%s", id);
                r = sd_journal_add_match(j, match, 0);
        }
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r >= 0)
                r = sd_journal_previous_skip(j, n);
        if (r > 0) {
                fputc('\n', f);
                while (r > 0) {
                        print_entry(f, j, mode);
                        r = sd_journal_next(j);
                }
        }
        sd_journal_close(j);
        return r;
}
