/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* Best-effort queries about a machine for list and status. They fail quietly (a machine without
 * private networking has no addresses, one may leave while we ask), so the caller decides
 * whether a failure matters; only -ENOMEM is worth reporting. */

/* GetMachineAddresses → "10.0.0.2", "fe80::1", ... (an empty list for NoPrivateNetworking). */
int machine_query_addresses(sd_bus *bus, const char *name, char ***ret);
/* GetMachineOSRelease → {"ID": "debian", ...}. */
int machine_query_os_release(sd_bus *bus, const char *name, json_object **ret);
/* GetMachineUIDShift. */
int machine_query_uid_shift(sd_bus *bus, const char *name, uint32_t *ret);
/* A string field of a JSON object, or NULL. */
const char *json_object_string_field(json_object *o, const char *key);
