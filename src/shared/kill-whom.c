/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kill-whom.h"
#include "string-table.h"

static const char *const kill_whom_table[_KILL_WHOM_MAX] = {
        [KILL_LEADER] = "leader",
        [KILL_SUPERVISOR] = "supervisor",
        [KILL_ALL] = "all",
};

DEFINE_STRING_TABLE_LOOKUP(kill_whom, KillWhom)
