/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define MACHINE1_SERVICE "org.freedesktop.machine1"
#define MACHINE1_PATH "/org/freedesktop/machine1"
#define MACHINE1_MANAGER "org.freedesktop.machine1.Manager"
#define MACHINE1_MACHINE "org.freedesktop.machine1.Machine"
#define MACHINE1_IMAGE "org.freedesktop.machine1.Image"
/* berth's own additions to machined, on the Manager object: starting pool images (see
 * machinectl(1), "D-BUS METHODS USED"). */
#define BERTH_MACHINED_INTERFACE "io.berth.Machined1"

/* sd-bus.h provides the *p() cleanup helpers. */
#define _cleanup_bus_ _cleanup_(sd_bus_flush_close_unrefp)
#define _cleanup_bus_message_ _cleanup_(sd_bus_message_unrefp)
#define _cleanup_bus_error_ _cleanup_(sd_bus_error_free)

/* The system bus ($DBUS_SYSTEM_BUS_ADDRESS is honoured by sd-bus). Logs on failure. */
int bus_connect_system(sd_bus **ret);

/* Logs a failed call once, in a single line: "No machine 'foo' known." for NoSuchMachine and
 * NoSuchImage (name is the machine/image the caller asked for), a hint when machined is not on
 * the bus, otherwise "Failed to <action>: <bus error message>". Returns r (negative). */
int log_bus_error(int r, const sd_bus_error *error, const char *name, const char *action_format, ...) _printf_(4, 5);

/* Manager method call; reply may be NULL. */
int manager_call(sd_bus *bus, const char *method, sd_bus_error *error, sd_bus_message **reply, const char *types, ...);

/* Object path of machine/image name (GetMachine/GetImage); logs errors. */
int machine_object_path(sd_bus *bus, const char *name, char **ret);
int image_object_path(sd_bus *bus, const char *name, char **ret);

/* Reads the next complete value of m, whatever its type, as JSON: strings, numbers, booleans,
 * byte arrays as hex strings, other arrays as arrays, dictionaries as objects, structs as
 * arrays, variants as their content. */
int bus_message_read_json(sd_bus_message *m, json_object **ret);

typedef struct Property {
        char *name;
        char *signature; /* of the variant's content */
        json_object *value;
} Property;

typedef struct PropertyList {
        Property *items;
        size_t n;
} PropertyList;

void property_list_done(PropertyList *l);
/* Properties.GetAll(interface) on path; interface "" means all of them, as systemd's machinectl
 * asks. */
int bus_get_all_properties(sd_bus *bus, const char *path, const char *interface, PropertyList *ret, sd_bus_error *error);
const Property *property_list_find(const PropertyList *l, const char *name);
/* Typed accessors: "" / 0 when the property is missing or has another type. */
const char *property_list_string(const PropertyList *l, const char *name);
uint64_t property_list_uint(const PropertyList *l, const char *name);

/* Whether name passes a -p filter (NULL: no filter). */
bool property_selected(char * const *filter, const char *name);
/* Properties as a JSON object (name → value), filtered. */
json_object *property_list_to_json(const PropertyList *l, char * const *filter);
/* Prints "NAME=VALUE" (or just VALUE) as systemd's "show" does: booleans as yes/no, *Timestamp
 * as dates, byte arrays in hex, string and number arrays space-separated. Empty values (and
 * values of types it cannot print) are skipped unless all is set. Returns true if it printed. */
bool property_print(const Property *p, bool value_only, bool all);
