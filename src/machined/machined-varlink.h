/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "machine.h"
#include "manager.h"
#include "varlink.h"

/* io.systemd.Machine on <runtime-dir>/io.systemd.Machine: List, Register, Unregister, Terminate,
 * Kill. machinectl >= 261 calls List before poweroff/reboot/terminate and fails without it. */
int machined_varlink_init(Manager *m);
