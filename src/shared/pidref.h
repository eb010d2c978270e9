/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A process pinned by a pidfd, so that a recycled PID can never be mistaken for it. fd_id is the
 * pidfs inode number (unique per boot, kernel >= 6.9; 0 where unavailable), start_time the
 * starttime field of /proc/PID/stat in clock ticks since boot: together they identify a process
 * across restarts of whoever tracks it, when only the numbers were written down. */
typedef struct PidRef {
        pid_t pid;
        int fd;
        uint64_t fd_id;
        uint64_t start_time;
} PidRef;

#define PIDREF_NULL ((PidRef) { .pid = 0, .fd = -EBADF })

static inline bool pidref_is_set(const PidRef *p) {
        return p && p->pid > 0;
}

/* Pins pid. -ESRCH if it does not exist or is a zombie (it exited but was not reaped yet). */
int pidref_set_pid(PidRef *ret, pid_t pid);
/* Pins the process a pidfd refers to; the fd is duplicated, the caller keeps its own. */
int pidref_set_pidfd(PidRef *ret, int pidfd);
void pidref_done(PidRef *p);
/* Same process: equal PIDs and, where both are known, equal pidfd ids and start times. */
bool pidref_equal(const PidRef *a, const PidRef *b);
/* > 0 if the pinned process still runs (not a zombie), 0 if it exited, < 0 on error. */
int pidref_is_alive(const PidRef *p);
int pidref_kill(const PidRef *p, int sig);

/* Field 22 of /proc/PID/stat. */
int pid_get_start_time(pid_t pid, uint64_t *ret);
/* The state letter of /proc/PID/stat ('R', 'S', 'Z', ...). */
int pid_get_state(pid_t pid, char *ret);
/* The pidfs inode number of a pidfd; -EOPNOTSUPP on kernels whose pidfds are anonymous inodes. */
int pidfd_get_inode_id(int pidfd, uint64_t *ret);
/* The PID a pidfd refers to (its "Pid:" line in fdinfo); -ESRCH once the process was reaped. */
int pidfd_get_pid(int pidfd, pid_t *ret);
