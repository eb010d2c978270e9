/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* status, show, image-status, show-image: everything about one object, from Properties.GetAll
 * plus the per-machine queries, as text or JSON. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd-util.h"
#include "log.h"
#include "machinectl-bus.h"
#include "machinectl-cgroup.h"
#include "machinectl-journal.h"
#include "machinectl-image.h"
#include "machinectl-output.h"
#include "machinectl-query.h"
#include "machinectl.h"
#include "strv.h"

/* Width of the "\t%8s: " labels plus tab stops, where the process tree starts (as systemd's). */
#define TREE_PREFIX "                  "

typedef int (*LookupFunction)(sd_bus *bus, const char *name, char **ret_path);

static void print_field(const char *label, const char *value) {
        _cleanup_free_ char *e = escape_control(value);
        printf("\t%8s: %s\n", label, e ?: "");
}

static void print_timestamp_field(const char *label, uint64_t usec) {
        char a[64], b[64], line[160];
        if (usec == 0 || usec == UINT64_MAX)
                return;
        snprintf(line, sizeof(line), "%s; %s", format_timestamp(a, sizeof(a), usec),
                 format_timestamp_relative(b, sizeof(b), usec, now_realtime_usec()));
        print_field(label, line);
}

/* "" for a null ID. */
static const char *id_or_empty(const char *hex) {
        return strspn(hex, "0") == strlen(hex) ? "" : hex;
}

/* The machine ID ("ay", read as hex), "" if null or missing. */
static const char *machine_id(const PropertyList *props) {
        const Property *p = property_list_find(props, "Id");
        if (!p || !streq(p->signature, "ay"))
                return "";
        return id_or_empty(json_object_get_string(p->value) ?: "");
}

static void print_leader(uint32_t leader) {
        char path[64], line[128];
        _cleanup_free_ char *comm = NULL;

        if (leader == 0)
                return;
        snprintf(path, sizeof(path), "/proc/%u/comm", leader);
        if (read_file_at(AT_FDCWD, path, 64, &comm, NULL) >= 0) {
                comm[strcspn(comm, "\n")] = 0;
                snprintf(line, sizeof(line), "%u (%s)", leader, comm);
        } else
                snprintf(line, sizeof(line), "%u", leader);
        print_field("Leader", line);
}

static void print_interfaces(const PropertyList *props) {
        const Property *p = property_list_find(props, "NetworkInterfaces");
        _cleanup_free_ char *line = NULL;

        if (!p || !streq(p->signature, "ai") || json_object_array_length(p->value) == 0)
                return;
        for (size_t i = 0; i < json_object_array_length(p->value); i++) {
                int ifindex = json_object_get_int(json_object_array_get_idx(p->value, i));
                char name[IF_NAMESIZE + 1], num[16];
                snprintf(num, sizeof(num), "%i", ifindex);
                const char *s = if_indextoname((unsigned) ifindex, name) ?: num;
                char *t = strjoin(line ?: "", line ? " " : "", s);
                if (!t)
                        return;
                free(line);
                line = t;
        }
        print_field("Iface", line);
}

static void print_addresses(char * const *addrs) {
        for (size_t i = 0; addrs && addrs[i]; i++) {
                if (i == 0)
                        print_field("Address", addrs[i]);
                else
                        printf("\t          %s\n", addrs[i]);
        }
}

static const char *os_pretty_name(json_object *os) {
        return json_object_string_field(os, "PRETTY_NAME") ?: json_object_string_field(os, "NAME");
}

/* The leader's PID, cgroup and journal files are this host's only when machined is ours: with
 * -M NAME they belong to the container's namespaces, and status leaves them out, as systemd's
 * machinectl does. */
static bool machined_is_local(const MachinectlConfig *c) {
        if (!c->machine)
                return true;
        const char *at = strchr(c->machine, '@'), *name = at ? at + 1 : c->machine;
        return isempty(name) || streq(name, ".host");
}

static void print_process_tree(uint32_t leader, const char *unit, const MachinectlConfig *c) {
        _cleanup_free_ char *dir = NULL;
        size_t width = 0;
        int r;

        if (leader == 0)
                return;
        r = machine_cgroup_dir((pid_t) leader, unit, &dir);
        if (r < 0) {
                log_debug_errno(r, "Failed to find the cgroup of leader %u, not showing processes: %m", leader);
                return;
        }
        if (!c->full)
                width = terminal_columns();
        fflush(stdout);
        r = cgroup_show_tree(stdout, dir, TREE_PREFIX, width, c->all);
        if (r < 0)
                log_debug_errno(r, "Failed to show the processes in %s: %m", dir);
}

static void print_machine_status(sd_bus *bus, const char *name, const PropertyList *props, const MachinectlConfig *c) {
        _cleanup_json_ json_object *os = NULL;
        _cleanup_strv_free_ char **addrs = NULL;
        const char *service = property_list_string(props, "Service"), *class = property_list_string(props, "Class");
        const char *unit = property_list_string(props, "Unit"), *root = property_list_string(props, "RootDirectory");
        const char *id = machine_id(props);
        uint32_t leader = (uint32_t) property_list_uint(props, "Leader"), shift = 0;

        if (c->colors)
                fputs(ANSI_HIGHLIGHT, stdout);
        fputs(name, stdout);
        if (c->colors)
                fputs(ANSI_NORMAL, stdout);
        printf(*id ? "(%s)\n" : "\n", id);

        print_timestamp_field("Since", property_list_uint(props, "Timestamp"));
        print_leader(leader);
        if (*service) {
                _cleanup_free_ char *line = *class ? strjoin(service, "; class ", class) : strdup(service);
                print_field("Service", line ?: service);
        } else if (*class)
                print_field("Class", class);
        if (*root)
                print_field("Root", root);
        print_interfaces(props);
        if (machine_query_addresses(bus, name, &addrs) >= 0)
                print_addresses(addrs);
        if (machine_query_os_release(bus, name, &os) >= 0 && os_pretty_name(os))
                print_field("OS", os_pretty_name(os));
        if (machine_query_uid_shift(bus, name, &shift) >= 0 && shift != 0) {
                char buf[16];
                snprintf(buf, sizeof(buf), "%u", shift);
                print_field("UID Shift", buf);
        }
        if (!machined_is_local(c))
                leader = 0;
        if (*unit) {
                print_field("Unit", unit);
                print_process_tree(leader, unit, c);
        } else
                print_process_tree(leader, NULL, c);
        /* A machine without readable journal files simply shows none, as systemd's machinectl. */
        if (leader > 0 && streq(class, "container")) {
                fflush(stdout);
                int r = show_machine_journal(stdout, (pid_t) leader, c->lines, (JournalMode) c->journal_mode);
                if (r < 0)
                        log_debug_errno(r, "Failed to show the journal of leader %u: %m", leader);
        }
}

static json_object *machine_status_json(sd_bus *bus, const char *name, const PropertyList *props, const MachinectlConfig *c) {
        json_object *o = property_list_to_json(props, NULL), *addrs_json = NULL, *procs = NULL;
        _cleanup_strv_free_ char **addrs = NULL;
        _cleanup_free_ char *dir = NULL;
        json_object *os = NULL;
        uint32_t leader = (uint32_t) property_list_uint(props, "Leader"), shift;

        if (!o)
                return NULL;
        if (machine_query_os_release(bus, name, &os) >= 0)
                json_object_object_add(o, "OSRelease", os);
        if (machine_query_addresses(bus, name, &addrs) >= 0) {
                addrs_json = json_object_new_array();
                for (char **a = addrs; addrs_json && a && *a; a++)
                        json_object_array_add(addrs_json, json_object_new_string(*a));
                json_object_object_add(o, "Addresses", addrs_json);
        }
        if (machine_query_uid_shift(bus, name, &shift) >= 0)
                json_object_object_add(o, "UIDShift", json_object_new_int64(shift));
        if (!machined_is_local(c))
                return o;
        if (leader > 0 && machine_cgroup_dir((pid_t) leader, property_list_string(props, "Unit"), &dir) >= 0 &&
            cgroup_processes_json(dir, &procs) >= 0)
                json_object_object_add(o, "Processes", procs);
        json_object *journal = NULL;
        if (leader > 0 && streq(property_list_string(props, "Class"), "container") &&
            machine_journal_json((pid_t) leader, c->lines, &journal) >= 0 && journal && json_object_array_length(journal) > 0)
                json_object_object_add(o, "Journal", journal);
        else
                json_object_put(journal);
        return o;
}

/* Adds o to the output: a single object is printed as itself, several as an array. */
static int json_emit(json_object **array, json_object *o) {
        if (!o)
                return -ENOMEM;
        if (!*array && !(*array = json_object_new_array())) {
                json_object_put(o);
                return -ENOMEM;
        }
        json_object_array_add(*array, o);
        return 0;
}

/* One name asked for: its object (or nothing if it failed); several: an array of those found. */
static int json_finish(json_object *array, char **names, OutputMode mode) {
        if (strv_length(names) > 1) {
                if (!array)
                        return puts("[]") == EOF ? -EIO : 0;
                return json_print(array, mode);
        }
        if (!array)
                return 0;
        return json_print(json_object_array_get_idx(array, 0), mode);
}

/* The object path of machine (or image) NAME and all its properties; logs once on failure. */
static int object_properties(sd_bus *bus, const char *name, bool image, char **ret_path, PropertyList *props) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = image ? image_object_path(bus, name, ret_path) : machine_object_path(bus, name, ret_path);
        if (r < 0)
                return r;
        r = bus_get_all_properties(bus, *ret_path, "", props, &error);
        if (r < 0)
                return log_bus_error(r, &error, name, "get the properties of %s '%s'", image ? "image" : "machine", name);
        return 0;
}

int verb_status(sd_bus *bus, char **args, const MachinectlConfig *c) {
        _cleanup_json_ json_object *array = NULL;
        unsigned printed = 0;
        int ret = 0;

        for (char **name = args + 1; *name; name++) {
                _cleanup_(property_list_done) PropertyList props = {};
                _cleanup_free_ char *path = NULL;
                int r = object_properties(bus, *name, false, &path, &props);
                if (r < 0) {
                        ret = ret ?: r;
                        continue;
                }
                if (output_is_json(c->output)) {
                        if (json_emit(&array, machine_status_json(bus, *name, &props, c)) < 0)
                                return log_oom();
                        continue;
                }
                if (printed++ > 0)
                        putchar('\n');
                print_machine_status(bus, *name, &props, c);
        }
        if (output_is_json(c->output)) {
                int r = json_finish(array, args + 1, c->output);
                if (r < 0)
                        return log_error_errno(r, "Failed to print JSON: %m");
        }
        return ret;
}

/* show and show-image: with no names the manager's own properties. */
static int show_objects(sd_bus *bus, char **args, const MachinectlConfig *c, LookupFunction lookup, const char *what) {
        _cleanup_json_ json_object *array = NULL;
        char *manager_only[] = { (char *) MACHINE1_PATH, NULL };
        char **names = args[1] ? args + 1 : manager_only;
        unsigned printed = 0;
        int ret = 0;

        for (char **name = names; *name; name++) {
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(property_list_done) PropertyList props = {};
                _cleanup_free_ char *path = NULL;
                int r;

                if (names == manager_only)
                        path = strdup(MACHINE1_PATH);
                else {
                        r = lookup(bus, *name, &path);
                        if (r < 0) {
                                ret = ret ?: r;
                                continue;
                        }
                }
                if (!path)
                        return log_oom();
                r = bus_get_all_properties(bus, path, "", &props, &error);
                if (r < 0) {
                        if (names == manager_only)
                                log_bus_error(r, &error, NULL, "get the properties of the manager");
                        else
                                log_bus_error(r, &error, *name, "get the properties of %s '%s'", what, *name);
                        ret = ret ?: r;
                        continue;
                }
                if (output_is_json(c->output)) {
                        if (json_emit(&array, property_list_to_json(&props, c->properties)) < 0)
                                return log_oom();
                        continue;
                }
                if (printed++ > 0 && !c->value)
                        putchar('\n');
                for (size_t i = 0; i < props.n; i++)
                        if (property_selected(c->properties, props.items[i].name))
                                (void) property_print(&props.items[i], c->value, c->all || c->properties);
        }
        if (output_is_json(c->output)) {
                int r = json_finish(array, names, c->output);
                if (r < 0)
                        return log_error_errno(r, "Failed to print JSON: %m");
        }
        return ret;
}

int verb_show(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return show_objects(bus, args, c, machine_object_path, "machine");
}

int verb_show_image(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return show_objects(bus, args, c, image_object_path, "image");
}

/* An Image method without arguments whose reply is read as JSON; NULL if it fails (a raw image
 * has no os-release we could read, an image may lack /etc/hostname). */
static json_object *image_query(sd_bus *bus, const char *path, const char *method) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        json_object *o = NULL;

        if (sd_bus_call_method(bus, MACHINE1_SERVICE, path, MACHINE1_IMAGE, method, NULL, &reply, NULL) < 0)
                return NULL;
        if (bus_message_read_json(reply, &o) < 0)
                return NULL;
        return o;
}

static bool image_is_disk(const PropertyList *props) {
        const char *type = property_list_string(props, "Type");
        return type && (streq(type, "raw") || streq(type, "block"));
}

/* Disk images: what the dissection finds, read from the file as this user can (nothing is
 * printed where it cannot: machined has more rights than its client). */
static void print_image_partitions(const PropertyList *props) {
#if HAVE_BLKID
        _cleanup_strv_free_ char **lines = NULL;
        const char *path = property_list_string(props, "Path");
        if (!image_is_disk(props) || !path || image_partition_lines(path, &lines) < 0)
                return;
        for (char **l = lines; l && *l; l++)
                print_field(l == lines ? "Partitions" : "", *l);
#endif
}

static void print_image_status(const char *name, const PropertyList *props, json_object *hostname, json_object *machine_id,
                               json_object *os, const MachinectlConfig *c) {
        const Property *ro = property_list_find(props, "ReadOnly");
        uint64_t usage = property_list_uint(props, "Usage"), limit = property_list_uint(props, "Limit");
        char buf[64];

        if (c->colors)
                fputs(ANSI_HIGHLIGHT, stdout);
        fputs(name, stdout);
        if (c->colors)
                fputs(ANSI_NORMAL, stdout);
        putchar('\n');

        print_field("Type", property_list_string(props, "Type"));
        print_field("Path", property_list_string(props, "Path"));
        if (!isempty(json_object_get_string(hostname)))
                print_field("Hostname", json_object_get_string(hostname));
        if (!isempty(json_object_get_string(machine_id)) && *id_or_empty(json_object_get_string(machine_id)))
                print_field("Machine ID", json_object_get_string(machine_id));
        if (os_pretty_name(os))
                print_field("OS", os_pretty_name(os));
        if (ro) {
                bool r = json_object_get_boolean(ro->value);
                printf("\t%8s: %s%s%s\n", "RO", r && c->colors ? ANSI_RED : "", r ? "read-only" : "writable",
                       r && c->colors ? ANSI_NORMAL : "");
        }
        print_timestamp_field("Created", property_list_uint(props, "CreationTimestamp"));
        print_timestamp_field("Modified", property_list_uint(props, "ModificationTimestamp"));
        if (usage != 0 && usage != UINT64_MAX)
                print_field("Usage", format_bytes(buf, sizeof(buf), usage));
        if (limit != 0 && limit != UINT64_MAX)
                print_field("Limit", format_bytes(buf, sizeof(buf), limit));
        print_image_partitions(props);
}

int verb_image_status(sd_bus *bus, char **args, const MachinectlConfig *c) {
        _cleanup_json_ json_object *array = NULL;
        _cleanup_strv_free_ char **all = NULL;
        char **names = args + 1;
        unsigned printed = 0;
        int ret = 0;

        if (!*names) {
                /* No names: every image (the hidden ones with -a), as a list in JSON too. */
                int r = image_names(bus, c->all, &all);
                if (r < 0)
                        return r;
                names = all;
        }
        for (char **name = names; *name; name++) {
                _cleanup_(property_list_done) PropertyList props = {};
                _cleanup_free_ char *path = NULL;
                int r = object_properties(bus, *name, true, &path, &props);
                if (r < 0) {
                        ret = ret ?: r;
                        continue;
                }
                _cleanup_json_ json_object *hostname = image_query(bus, path, "GetHostname");
                _cleanup_json_ json_object *machine_id = image_query(bus, path, "GetMachineID");
                _cleanup_json_ json_object *info = image_query(bus, path, "GetMachineInfo");
                _cleanup_json_ json_object *os = image_query(bus, path, "GetOSRelease");

                if (output_is_json(c->output)) {
                        json_object *o = property_list_to_json(&props, NULL);
                        if (o) {
                                json_object_object_add(o, "Hostname", json_object_get(hostname));
                                json_object_object_add(o, "MachineID", json_object_get(machine_id));
                                json_object_object_add(o, "MachineInfo", json_object_get(info));
                                json_object_object_add(o, "OSRelease", json_object_get(os));
#if HAVE_BLKID
                                const char *p = property_list_string(&props, "Path");
                                if (image_is_disk(&props) && p)
                                        json_object_object_add(o, "Partitions", image_partitions_json(p));
#endif
                        }
                        if (json_emit(&array, o) < 0)
                                return log_oom();
                        continue;
                }
                if (printed++ > 0)
                        putchar('\n');
                print_image_status(*name, &props, hostname, machine_id, os, c);
        }
        if (output_is_json(c->output)) {
                int r = all && !array ? (puts("[]") == EOF ? -EIO : 0)
                        : all ? json_print(array, c->output) : json_finish(array, names, c->output);
                if (r < 0)
                        return log_error_errno(r, "Failed to print JSON: %m");
        }
        return ret;
}
