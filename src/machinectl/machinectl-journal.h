#pragma once

#include <json-c/json.h>
#include <stdio.h>
#include <sys/types.h>

/* How status prints the journal: systemd's journalctl -o names we support. */
typedef enum JournalMode {
        JOURNAL_SHORT,
        JOURNAL_SHORT_ISO,
        JOURNAL_SHORT_ISO_PRECISE,
        JOURNAL_SHORT_PRECISE,
        JOURNAL_SHORT_MONOTONIC,
        JOURNAL_SHORT_UNIX,
        JOURNAL_VERBOSE,
        JOURNAL_EXPORT,
        JOURNAL_JSON,
        JOURNAL_JSON_PRETTY,
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
/* The same entries as journalctl -o json objects (fields as strings, binary values as byte
 * arrays, repeated fields as arrays), for status with JSON output. */
int machine_journal_json(pid_t leader, unsigned n, json_object **ret);
