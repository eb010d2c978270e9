/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "machine.h"

/* org.freedesktop.machine1.Machine at /org/freedesktop/machine1/machine/<label> (and .../self).
 * Also sets the manager's announce_machine hook: MachineNew/MachineRemoved on the Manager object. */
int machine_dbus_register(Manager *m);

/* Method implementations, userdata = Machine; the Manager's *Machine(name, ...) methods read the
 * name and call these with the rest of the message. */
int bus_machine_method_unregister(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_terminate(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_kill(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_get_addresses(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_get_ssh_info(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_get_os_release(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_get_uid_shift(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_open_pty(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_open_login(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_open_shell(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_open_root_directory(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_bind_mount(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_copy_from(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_copy_to(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_copy_from_with_flags(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_copy_to_with_flags(sd_bus_message *message, void *userdata, sd_bus_error *error);
