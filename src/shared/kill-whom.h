/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which processes of a machine a signal goes to: the "whom" of machined's KillMachine, spoken by
 * machined and machinectl alike. */
typedef enum KillWhom {
        KILL_LEADER,
        KILL_SUPERVISOR,
        KILL_ALL,
        _KILL_WHOM_MAX,
        _KILL_WHOM_INVALID = -22,
} KillWhom;

const char *kill_whom_to_string(KillWhom w);
KillWhom kill_whom_from_string(const char *s);
