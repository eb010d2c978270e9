/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "pidref.h"
#include "process-util.h"

#ifndef PIDFS_MAGIC
#define PIDFS_MAGIC 0x50494446
#endif

/* /proc/PID/stat fields after the parenthesised comm, which may itself contain spaces and ')'. */
static int pid_read_stat_fields(pid_t pid, char **ret_buf, const char **ret_after_comm) {
        char path[64];
        _cleanup_free_ char *buf = NULL;
        int r;

        snprintf(path, sizeof(path), "/proc/%i/stat", (int) pid);
        r = read_file_at(AT_FDCWD, path, 4096, &buf, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        const char *p = strrchr(buf, ')');
        if (!p || p[1] != ' ')
                return -EIO;
        *ret_after_comm = p + 2;
        *ret_buf = TAKE_PTR(buf);
        return 0;
}

int pid_get_state(pid_t pid, char *ret) {
        _cleanup_free_ char *buf = NULL;
        const char *p;
        int r = pid_read_stat_fields(pid, &buf, &p);
        if (r < 0)
                return r;
        *ret = p[0];
        return 0;
}

int pid_get_start_time(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        const char *p;
        int r = pid_read_stat_fields(pid, &buf, &p);
        if (r < 0)
                return r;
        /* p is field 3 (state); starttime is field 22. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EIO;
                p++;
        }
        unsigned long long v;
        if (sscanf(p, "%llu", &v) != 1)
                return -EIO;
        *ret = v;
        return 0;
}

int pidfd_get_inode_id(int pidfd, uint64_t *ret) {
        struct statfs sfs;
        struct stat st;

        /* Before pidfs (6.9) every pidfd shares one anonymous inode, so its number means nothing. */
        if (fstatfs(pidfd, &sfs) < 0)
                return negative_errno();
        if ((unsigned long) sfs.f_type != (unsigned long) PIDFS_MAGIC)
                return -EOPNOTSUPP;
        if (fstat(pidfd, &st) < 0)
                return negative_errno();
        *ret = (uint64_t) st.st_ino;
        return 0;
}

int pidfd_get_pid(int pidfd, pid_t *ret) {
        char path[PROC_FD_PATH_MAX + 16];
        _cleanup_free_ char *buf = NULL;
        int r;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%i", pidfd);
        r = read_file_at(AT_FDCWD, path, 16 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        const char *p = strstr(buf, "\nPid:");
        if (!p)
                return -EBADF; /* not a pidfd */
        int pid;
        if (sscanf(p + 5, "%d", &pid) != 1)
                return -EIO;
        if (pid <= 0)
                return -ESRCH; /* 0: reaped (or in another pid namespace), -1: exited */
        *ret = pid;
        return 0;
}

/* Reads start time and pidfd id, then checks the pidfd still refers to a live process, so that what
 * we read from /proc/PID belongs to the pinned process and not to a successor that got its PID. */
static int pidref_complete(PidRef *p) {
        char state;
        int r;

        r = pid_get_start_time(p->pid, &p->start_time);
        if (r < 0)
                return r;
        r = pid_get_state(p->pid, &state);
        if (r < 0)
                return r;
        if (state == 'Z' || state == 'X')
                return -ESRCH;
        if (pidfd_get_inode_id(p->fd, &p->fd_id) < 0)
                p->fd_id = 0;
        if (pidfd_signal(p->fd, 0) < 0)
                return -ESRCH;
        return 0;
}

int pidref_set_pid(PidRef *ret, pid_t pid) {
        if (pid <= 0)
                return -EINVAL;
        PidRef p = { .pid = pid, .fd = pidfd_open_pid(pid) };
        if (p.fd < 0)
                return p.fd;
        int r = pidref_complete(&p);
        if (r < 0) {
                safe_close(p.fd);
                return r;
        }
        *ret = p;
        return 0;
}

int pidref_set_pidfd(PidRef *ret, int pidfd) {
        PidRef p = { .fd = -EBADF };
        int r = pidfd_get_pid(pidfd, &p.pid);
        if (r < 0)
                return r;
        p.fd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
        if (p.fd < 0)
                return negative_errno();
        r = pidref_complete(&p);
        if (r < 0) {
                safe_close(p.fd);
                return r;
        }
        *ret = p;
        return 0;
}

void pidref_done(PidRef *p) {
        if (!p)
                return;
        safe_close(p->fd);
        *p = PIDREF_NULL;
}

bool pidref_equal(const PidRef *a, const PidRef *b) {
        if (!pidref_is_set(a) || !pidref_is_set(b))
                return false;
        if (a->pid != b->pid)
                return false;
        if (a->fd_id != 0 && b->fd_id != 0 && a->fd_id != b->fd_id)
                return false;
        if (a->start_time != 0 && b->start_time != 0 && a->start_time != b->start_time)
                return false;
        return true;
}

int pidref_is_alive(const PidRef *p) {
        char state;

        if (!pidref_is_set(p))
                return -ESRCH;
        if (p->fd >= 0) {
                int k = pidfd_signal(p->fd, 0);
                if (k == -ESRCH)
                        return 0;
                if (k < 0)
                        return k;
        }
        int r = pid_get_state(p->pid, &state);
        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return r;
        return state != 'Z' && state != 'X';
}

int pidref_kill(const PidRef *p, int sig) {
        if (!pidref_is_set(p))
                return -ESRCH;
        /* Without a pidfd we cannot know the PID was not recycled: refuse rather than guess. */
        if (p->fd < 0)
                return -ESRCH;
        return pidfd_signal(p->fd, sig);
}
