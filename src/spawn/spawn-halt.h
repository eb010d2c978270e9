/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Asks a sysvinit PID 1 (host PID init_pid) to change to runlevel ('0' halts) through its
 * control FIFO /run/initctl, as telinit does: sysvinit has no halt signal. -ENOENT/-ENXIO while
 * init has not created or opened the FIFO yet. */
int halt_request_initctl(pid_t init_pid, char runlevel);
