/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* reboot(2) under -U. The kernel turns a reboot in a PID namespace into its init's death by
 * SIGHUP (reboot) or SIGINT (halt, poweroff), which is how spawn learns what a booted guest
 * wants; but only for a caller with CAP_SYS_BOOT in the user namespace owning the PID namespace.
 * spawn's PID namespace is the host user namespace's (the child enters its own user namespace
 * late), so the guest's root gets EPERM and a reboot would end as a poweroff. A seccomp filter
 * hands every reboot(2) of the container to the supervisor instead, which does what the kernel
 * would have done. */

/* In the child, in its user namespace: installs the filter; returns its listener fd or -errno. */
int reboot_listener_install(void);

/* In the supervisor, when the listener is readable: answers one reboot(2) as the kernel would in a
 * PID namespace. Returns SIGHUP or SIGINT when the container's init must die for it, 0 when
 * nothing is to be done (Ctrl-Alt-Del settings, a bad call, a caller already gone), or -errno. */
int reboot_listener_handle(int fd);
