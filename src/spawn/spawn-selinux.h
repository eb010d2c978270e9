/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* SELinux without libselinux: linking it (and the libpcre2 it pulls in) costs spawn's supervisor
 * ~350 kB of RSS and ~5 ms per start, for three things the kernel interfaces do directly. */

#define SELINUXFS_PATH "/sys/fs/selinux"

/* Syntax only: user:role:type[:range], characters that can appear in a quoted mount option.
 * Whether the kernel's policy knows the context is selinux_context_check()'s job. */
bool selinux_context_is_valid(const char *context);

/* Whether SELinux is enabled on the host: selinuxfs is mounted where libselinux looks for it. */
bool selinux_host_enabled(void);

/* Asks the loaded policy whether CONTEXT is valid (selinuxfs "context", what libselinux's
 * security_check_context() does). -EINVAL: not valid; other -errno: could not ask. */
int selinux_context_check(const char *context);

/* The label the next execve() of this thread gets (setexeccon()). */
int selinux_set_exec_context(const char *context);
