/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* org.freedesktop.machine1.Manager at /org/freedesktop/machine1. */
int manager_dbus_register(Manager *m);
