/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* org.freedesktop.machine1.Image at /org/freedesktop/machine1/image/<label>: properties and the
 * read-only methods. */
int image_dbus_register(Manager *m);

/* image-dbus-ops.c: the pool methods. The Manager's (userdata: the Manager)... */
int bus_method_remove_image(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_rename_image(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_clone_image(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_mark_image_read_only(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_set_image_limit(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_set_pool_limit(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_clean_pool(sd_bus_message *message, void *userdata, sd_bus_error *error);
/* ...and the Image object's, for image i. */
typedef struct Image Image;
int bus_image_method_remove(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error);
int bus_image_method_rename(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error);
int bus_image_method_clone(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error);
int bus_image_method_mark_read_only(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error);
int bus_image_method_set_limit(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error);
