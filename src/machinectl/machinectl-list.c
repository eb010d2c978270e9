/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list, list-images: one ListMachines/ListImages call, then per-row details. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "machinectl-bus.h"
#include "machinectl-output.h"
#include "machinectl-query.h"
#include "machinectl.h"
#include "strv.h"

typedef struct MachineEntry {
        const char *name, *class, *service;
} MachineEntry;

static int compare_machine_entry(const void *a, const void *b) {
        return strcmp(((const MachineEntry *) a)->name, ((const MachineEntry *) b)->name);
}

/* "10.0.0.2…" for the first max addresses; NULL for none. */
static char *addresses_cell(char * const *addrs, unsigned max) {
        size_t n = strv_length(addrs);
        char *s = NULL;

        if (n == 0)
                return NULL;
        for (size_t i = 0; i < n && i < max; i++) {
                char *t = strjoin(s ?: "", s ? " " : "", addrs[i]);
                free(s);
                if (!t)
                        return NULL;
                s = t;
        }
        if (n > max) {
                char *t = strjoin(s ?: "", glyph(GLYPH_ELLIPSIS));
                free(s);
                s = t;
        }
        return s;
}

static json_object *strv_to_json(char * const *l) {
        if (strv_length(l) == 0)
                return NULL;
        json_object *a = json_object_new_array();
        for (char * const *s = l; a && *s; s++)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static json_object *json_string_or_null(const char *s) {
        return isempty(s) ? NULL : json_object_new_string(s);
}

static int read_machines(sd_bus_message *reply, bool all, MachineEntry **ret, size_t *ret_n) {
        MachineEntry *l = NULL;
        size_t n = 0;
        const char *name, *class, *service, *path;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(ssso)", &name, &class, &service, &path)) > 0) {
                /* Hidden machines (".host" on systemd) only with --all, as systemd does. */
                if (name[0] == '.' && !all)
                        continue;
                MachineEntry *t = realloc(l, (n + 1) * sizeof(MachineEntry));
                if (!t) {
                        free(l);
                        return -ENOMEM;
                }
                l = t;
                l[n++] = (MachineEntry) { name, class, service };
        }
        if (r < 0) {
                free(l);
                return r;
        }
        if (n > 0)
                qsort(l, n, sizeof(MachineEntry), compare_machine_entry);
        *ret = l;
        *ret_n = n;
        return 0;
}

int verb_list(sd_bus *bus, char **args, const MachinectlConfig *c) {
        static const char *const headers[] = { "MACHINE", "CLASS", "SERVICE", "OS", "VERSION", "ADDRESSES" };
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_table_ Table *table = NULL;
        _cleanup_json_ json_object *array = NULL;
        _cleanup_free_ MachineEntry *machines = NULL;
        size_t n = 0;
        int r;

        r = manager_call(bus, "ListMachines", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, NULL, "list machines");
        r = read_machines(reply, c->all, &machines, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the list of machines: %m");

        table = table_new(ELEMENTSOF(headers), headers);
        array = json_object_new_array();
        if (!table || !array)
                return log_oom();

        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_object *os = NULL;
                _cleanup_strv_free_ char **addrs = NULL;
                _cleanup_free_ char *acell = NULL;

                /* The machine may be gone by now, or have no os-release: both only leave a gap. */
                (void) machine_query_os_release(bus, machines[i].name, &os);
                if (machine_query_addresses(bus, machines[i].name, &addrs) == -ENOMEM)
                        return log_oom();

                const char *id = json_object_string_field(os, "ID"), *version = json_object_string_field(os, "VERSION_ID");
                if (output_is_json(c->output)) {
                        json_object *o = json_object_new_object();
                        if (!o)
                                return log_oom();
                        json_object_object_add(o, "machine", json_object_new_string(machines[i].name));
                        json_object_object_add(o, "class", json_string_or_null(machines[i].class));
                        json_object_object_add(o, "service", json_string_or_null(machines[i].service));
                        json_object_object_add(o, "os", json_string_or_null(id));
                        json_object_object_add(o, "version", json_string_or_null(version));
                        json_object_object_add(o, "addresses", strv_to_json(addrs));
                        json_object_array_add(array, o);
                        continue;
                }
                acell = addresses_cell(addrs, c->full ? UINT_MAX : c->max_addresses);
                if (table_add_cell(table, machines[i].name) < 0 || table_add_cell(table, machines[i].class) < 0 ||
                    table_add_cell(table, machines[i].service) < 0 || table_add_cell(table, id) < 0 ||
                    table_add_cell(table, version) < 0 || table_add_cell(table, acell) < 0)
                        return log_oom();
        }

        if (output_is_json(c->output))
                return json_print(array, c->output);

        /* Like systemd's: an empty list is only the legend's "No machines." */
        if (table_rows(table) == 0) {
                if (c->legend)
                        printf("No machines.\n");
                return 0;
        }
        table_print(table, stdout, c->legend, c->colors);
        if (c->legend)
                printf("\n%zu machines listed.\n", table_rows(table));
        return 0;
}

int verb_list_images(sd_bus *bus, char **args, const MachinectlConfig *c) {
        static const char *const headers[] = { "NAME", "TYPE", "RO", "USAGE", "CREATED", "MODIFIED" };
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_table_ Table *table = NULL;
        _cleanup_json_ json_object *array = NULL;
        const char *name, *type, *path;
        uint64_t crtime, mtime, usage;
        int ro, r;

        r = manager_call(bus, "ListImages", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, NULL, "list images");

        table = table_new(ELEMENTSOF(headers), headers);
        array = json_object_new_array();
        if (!table || !array)
                return log_oom();

        /* machined lists them sorted by name already. */
        r = sd_bus_message_enter_container(reply, 'a', "(ssbttto)");
        if (r < 0)
                return log_error_errno(r, "Failed to parse the list of images: %m");
        while ((r = sd_bus_message_read(reply, "(ssbttto)", &name, &type, &ro, &crtime, &mtime, &usage, &path)) > 0) {
                char ubuf[32], cbuf[64], mbuf[64];

                if (name[0] == '.' && !c->all)
                        continue;
                if (output_is_json(c->output)) {
                        json_object *o = json_object_new_object();
                        if (!o)
                                return log_oom();
                        json_object_object_add(o, "name", json_object_new_string(name));
                        json_object_object_add(o, "type", json_object_new_string(type));
                        json_object_object_add(o, "ro", json_object_new_boolean(ro));
                        json_object_object_add(o, "usage", usage == UINT64_MAX ? NULL : json_object_new_uint64(usage));
                        json_object_object_add(o, "created", json_object_new_uint64(crtime));
                        json_object_object_add(o, "modified", json_object_new_uint64(mtime));
                        json_object_array_add(array, o);
                        continue;
                }
                if (table_add_cell(table, name) < 0 || table_add_cell(table, type) < 0 ||
                    table_add_cell(table, ro ? "yes" : "no") < 0 ||
                    table_add_cell_blank(table, usage == UINT64_MAX ? NULL : format_bytes(ubuf, sizeof(ubuf), usage)) < 0 ||
                    table_add_cell(table, crtime ? format_timestamp(cbuf, sizeof(cbuf), crtime) : NULL) < 0 ||
                    table_add_cell(table, mtime ? format_timestamp(mbuf, sizeof(mbuf), mtime) : NULL) < 0)
                        return log_oom();
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the list of images: %m");

        if (output_is_json(c->output))
                return json_print(array, c->output);

        /* Like systemd's: an empty list is only the legend's "No images." */
        if (table_rows(table) == 0) {
                if (c->legend)
                        printf("No images.\n");
                return 0;
        }
        table_print(table, stdout, c->legend, c->colors);
        if (c->legend)
                printf("\n%zu images listed.\n", table_rows(table));
        return 0;
}

int image_names(sd_bus *bus, bool all, char ***ret) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **names = NULL;
        const char *name;
        int r;

        r = manager_call(bus, "ListImages", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, NULL, "list images");
        r = sd_bus_message_enter_container(reply, 'a', "(ssbttto)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssbttto)", &name, NULL, NULL, NULL, NULL, NULL, NULL)) > 0)
                if ((name[0] != '.' || all) && strv_extend(&names, name) < 0)
                        return log_oom();
        if (r < 0)
                return log_error_errno(r, "Failed to parse the list of images: %m");
        *ret = TAKE_PTR(names);
        return 0;
}
