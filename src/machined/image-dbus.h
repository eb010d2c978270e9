/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* org.freedesktop.machine1.Image at /org/freedesktop/machine1/image/<label>: properties and the
 * read-only methods. */
int image_dbus_register(Manager *m);
