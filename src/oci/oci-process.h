/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "oci-config.h"
#include "spawn-seccomp.h"

/* The last steps of a container process, shared by create's init and exec: each returns -errno
 * and sets *ret_error to one line. They run inside the container's namespaces and root. */

/* Opens a pty in the container's devpts, sends the master over console_sock (SCM_RIGHTS, as
 * runc's --console-socket), makes the peer our controlling terminal and stdio; bind_console also
 * binds it onto /dev/console. */
int oci_console_setup(int console_sock, bool bind_console, char **ret_error);
/* Resolves args[0] in the process's PATH, as execvp would, so that create fails (not start). */
int oci_process_lookup(const OciProcess *p, char **ret_path, char **ret_error);
/* rlimits, oom_score_adj, umask and cwd. */
int oci_process_prepare(const OciProcess *p, char **ret_error);
/* User, capabilities, no_new_privs, the seccomp program (built from linux.seccomp by spawn's
 * spawn_oci_seccomp_build() before the fork; NULL: none), then execve(exe). Returns only on failure. */
int oci_process_exec(const OciProcess *p, const SeccompProgram *seccomp, const char *exe, char **ret_error);
