/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn-register: registers one container with org.freedesktop.machine1 for spawn, which keeps
 * libsystemd out of its own address space (see spawn-register.h). Not meant to be run by hand.
 *
 *   spawn-register [--mode=yes|auto] [--keep-unit] [--quiet] [--slice=S] [--property=NAME=U64]...
 *                  NAME UUID LEADER-PID ROOT-DIRECTORY
 *   spawn-register --unregister NAME
 *
 * Exit status: 0 registered, 3 no registry on the bus (--mode=auto), 1 failure (one line on
 * stderr). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "log.h"
#include "parse-util.h"
#include "spawn-register.h"
#include "strv.h"

#define MACHINE1 "org.freedesktop.machine1"
#define MACHINE1_PATH "/org/freedesktop/machine1"
#define MACHINE1_MANAGER "org.freedesktop.machine1.Manager"
#define REGISTER_TIMEOUT_USEC (30ULL * 1000000ULL)

typedef struct Args {
        bool auto_mode, keep_unit, quiet, unregister;
        const char *slice;
        char **properties; /* NAME=VALUE */
        const char *name, *directory;
        Id128 uuid;
        unsigned leader;
        int netif[8];             /* the host-side interfaces (ve-NAME) */
        size_t n_netif;
        const char *has_owner;    /* --has-owner=NAME: only ask whether NAME is owned on the bus */
} Args;

/* Is machine1 owned or activatable on this bus? */
static int registry_available(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int has = 0, r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", MACHINE1);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        if (r < 0 || has)
                return r < 0 ? r : 1;

        _cleanup_strv_free_ char **names = NULL;
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "ListActivatableNames", &error, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(reply, &names);
        sd_bus_message_unref(reply);
        if (r < 0)
                return r;
        return strv_contains(names, MACHINE1);
}

/* Scope properties in systemd's names and types: our machined applies them with its cgroupfs
 * backend, systemd-machined hands them on to systemd. */
static int append_scope_properties(sd_bus_message *m, const Args *a) {
        _cleanup_free_ char *description = strjoin("Container ", a->name);
        int r;

        if (!description)
                return -ENOMEM;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        /* A scope stop sends KillSignal to its processes, and a systemd guest's PID 1 only
         * re-executes on SIGTERM, holding the stop for the whole timeout (90 s seen on a systemd
         * host). The orderly way is our SIGTERM: machined's Terminate sends it to us (the
         * supervisor) and stops the scope only when the guest did not halt in time. */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Description", "s", description, "Delegate", "b", 1,
                                          "KillSignal", "i", SIGKILL);
        if (r >= 0 && a->slice)
                r = sd_bus_message_append(m, "(sv)", "Slice", "s", a->slice);
        for (char **p = a->properties; r >= 0 && p && *p; p++) {
                char *eq = strchr(*p, '=');
                uint64_t v;
                if (!eq || safe_atou64(eq + 1, &v) < 0)
                        return -EINVAL;
                *eq = 0;
                r = sd_bus_message_append(m, "(sv)", *p, "t", v);
                *eq = '=';
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int do_register(sd_bus *bus, const Args *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MACHINE1, MACHINE1_PATH, MACHINE1_MANAGER,
                                           a->keep_unit ? "RegisterMachineWithNetwork" : "CreateMachineWithNetwork");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", a->name);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', a->uuid.bytes, sizeof(a->uuid.bytes));
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "berth", "container", (uint32_t) a->leader, a->directory);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'i', a->netif, a->n_netif * sizeof(int));
        if (r >= 0 && !a->keep_unit)
                r = append_scope_properties(m, a);
        if (r < 0) {
                sd_bus_message_unref(m);
                return log_error_errno(r, "Failed to build the registration request: %m");
        }

        r = sd_bus_call(bus, m, REGISTER_TIMEOUT_USEC, &error, &reply);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, MACHINE1 ".MachineExists"))
                        return log_error_errno(EEXIST, "Machine %s is already running (registered with " MACHINE1 ").", a->name);
                return log_error_errno(r, "Failed to register machine %s: %s", a->name, error.message ?: strerror(-r));
        }
        return 0;
}

static int parse_args(int argc, char *argv[], Args *a) {
        static const struct option options[] = {
                { "mode",       required_argument, NULL, 'm' },
                { "keep-unit",  no_argument,       NULL, 'k' },
                { "quiet",      no_argument,       NULL, 'q' },
                { "slice",      required_argument, NULL, 's' },
                { "property",   required_argument, NULL, 'p' },
                { "unregister", no_argument,       NULL, 'u' },
                { "netif",      required_argument, NULL, 'n' },
                { "has-owner",  required_argument, NULL, 'o' },
                {}
        };
        int opt;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'm':
                        a->auto_mode = streq(optarg, "auto");
                        break;
                case 'k':
                        a->keep_unit = true;
                        break;
                case 'q':
                        a->quiet = true;
                        break;
                case 's':
                        a->slice = optarg;
                        break;
                case 'p':
                        if (strv_extend(&a->properties, optarg) < 0)
                                return log_oom();
                        break;
                case 'u':
                        a->unregister = true;
                        break;
                case 'n': {
                        unsigned ifindex;
                        if (safe_atou(optarg, &ifindex) < 0 || ifindex == 0 || ifindex > INT32_MAX ||
                            a->n_netif >= ELEMENTSOF(a->netif))
                                return log_error_errno(EINVAL, "Invalid arguments (this helper is run by spawn).");
                        a->netif[a->n_netif++] = (int) ifindex;
                        break;
                }
                case 'o':
                        a->has_owner = optarg;
                        break;
                default:
                        return log_error_errno(EINVAL, "Invalid arguments (this helper is run by spawn).");
                }

        if (a->has_owner && optind == argc)
                return 0;
        if (a->unregister && optind + 1 == argc) {
                a->name = argv[optind];
                return 0;
        }
        if (optind + 4 != argc || id128_from_string(argv[optind + 1], &a->uuid) < 0 ||
            safe_atou(argv[optind + 2], &a->leader) < 0)
                return log_error_errno(EINVAL, "Invalid arguments (this helper is run by spawn).");
        a->name = argv[optind];
        a->directory = argv[optind + 3];
        return 0;
}

/* spawn hands us its own connection to the system bus ($BERTH_BUS_FD), so that the registry
 * sees spawn, not us, as the caller and records it as the machine's supervisor. */
static int bus_open(sd_bus **ret) {
        const char *e = getenv("BERTH_BUS_FD");
        unsigned fd;
        sd_bus *bus = NULL;
        int r;

        if (isempty(e) || safe_atou(e, &fd) < 0)
                return sd_bus_open_system(ret);
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, (int) fd, (int) fd);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

int main(int argc, char *argv[]) {
        Args a = {};
        sd_bus *bus = NULL;
        sd_bus_message *reply = NULL;
        int r;

        log_set_program_name("spawn");
        r = parse_args(argc, argv, &a);
        if (r < 0)
                return REGISTER_HELPER_FAILED;

        r = bus_open(&bus);
        if (a.has_owner) {
                /* Exit 0 if owned, NO_REGISTRY if not or without a bus. */
                int has = 0;
                if (r >= 0)
                        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                               "NameHasOwner", NULL, &reply, "s", a.has_owner);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "b", &has);
                sd_bus_message_unref(reply);
                sd_bus_flush_close_unref(bus);
                return r >= 0 && has ? REGISTER_HELPER_REGISTERED : REGISTER_HELPER_NO_REGISTRY;
        }
        if (r >= 0 && !a.unregister)
                r = registry_available(bus);
        if (a.unregister) {
                /* NoSuchMachine is the normal answer: the registry saw the leader die first. */
                if (r >= 0)
                        (void) sd_bus_call_method(bus, MACHINE1, MACHINE1_PATH, MACHINE1_MANAGER,
                                                  "UnregisterMachine", NULL, NULL, "s", a.name);
                r = REGISTER_HELPER_REGISTERED;
        } else if (r <= 0) {
                if (a.auto_mode)
                        r = REGISTER_HELPER_NO_REGISTRY;
                else {
                        log_error_errno(r < 0 ? r : ESRCH, "Cannot register machine %s: %s", a.name,
                                        r < 0 ? "failed to connect to the system bus" : "no " MACHINE1 " service on the system bus");
                        r = REGISTER_HELPER_FAILED;
                }
        } else
                r = do_register(bus, &a) < 0 ? REGISTER_HELPER_FAILED : REGISTER_HELPER_REGISTERED;

        sd_bus_flush_close_unref(bus);
        strv_free(a.properties);
        return r;
}
