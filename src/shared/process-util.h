/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* fork()-like clone3() with namespace flags; returns 0 in the child, the pid in the parent, and
 * a pidfd of the child in *ret_pidfd (parent only). */
pid_t clone_with_pidfd(uint64_t flags, int *ret_pidfd);

int pidfd_open_pid(pid_t pid);
int pidfd_signal(int pidfd, int sig);

/* Blocks/unblocks a set of signals given as a 0-terminated list. */
int sigprocmask_many(int how, sigset_t *ret_old, ...);
/* Resets all signal handlers to default and unblocks everything: for freshly forked children. */
void reset_all_signals(void);

/* Reads the inode of /proc/self/ns/NAME: to compare namespaces. */
int namespace_inode(pid_t pid, const char *name, uint64_t *ret);

/* Raises the soft RLIMIT_NOFILE to the hard limit; the soft limit before goes to ret_old_soft. */
int rlimit_nofile_bump(unsigned long *ret_old_soft);
/* For a child about to execute something else: back to at most FD_SETSIZE (1024), since programs
 * using select() break on descriptors above it. */
int rlimit_nofile_safe(void);
