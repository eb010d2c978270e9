/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "machine.h"
#include "manager.h"
#include "varlink.h"

/* io.systemd.Machine on <runtime-dir>/io.systemd.Machine: List, Register, Unregister, Terminate,
 * Kill. machinectl >= 261 calls List before poweroff/reboot/terminate and fails without it. */
int machined_varlink_init(Manager *m);

/* Answers call with the error the table maps (context, r or f's error) to on Varlink. */
int varlink_reply_failure(VarlinkCall *call, ErrorContext context, int r, const Failure *f);

/* io.systemd.MachineImage on <runtime-dir>/io.systemd.MachineImage (machined-varlink-image.c):
 * List, Update, Clone, Remove, SetPoolLimit, CleanPool. */
int machined_varlink_image_init(Manager *m);
