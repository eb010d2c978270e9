#pragma once

#include <stdio.h>
#include <sys/types.h>

/* How status prints the journal: systemd's journalctl -o names we support. */
typedef enum JournalMode {
        JOURNAL_SHORT,
        JOURNAL_SHORT_ISO,
        JOURNAL_SHORT_PRECISE,
        JOURNAL_CAT,
        _JOURNAL_MODE_MAX,
        _JOURNAL_MODE_INVALID = -22,
} JournalMode;

const char *journal_mode_to_string(JournalMode m);
JournalMode journal_mode_from_string(const char *s);

/* The last n entries of the machine's journal, read from its files through /proc/LEADER/root
 * (var/log/journal and run/log/journal there: the guest's own, the host's bound in by
 * --link-journal=host, or the guest's that the host links to), matched by the guest's
 * machine-id. No journald is needed on the host. -errno when there is no journal to read. */
int show_machine_journal(FILE *f, pid_t leader, unsigned n, JournalMode mode);
