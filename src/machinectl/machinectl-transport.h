/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* -M/--machine=[USER@]NAME: the system bus inside local container NAME, connected as USER (root if
 * not given), as systemd's machinectl reaches it; ".host" (or an empty NAME) is the host's bus.
 * Logs on failure. */
int bus_connect_machine(const char *spec, sd_bus **ret);
