/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "macro.h"
#include "machined-varlink.h"
#include "manager-dbus.h"
#include "manager.h"
#include "process-util.h"
#include "supervisor.h"

static void help(void) {
        printf("machined [OPTIONS...]\n\n"
               "Keeps track of running containers and virtual machines (org.freedesktop.machine1).\n\n"
               "  -h --help                 Show this help\n"
               "     --version              Print version string\n"
               "     --cgroup-root=PATH     Cgroup below which machine.slice is created (relative:\n"
               "                            below our own cgroup; absolute: that path in every\n"
               "                            hierarchy; default: our own cgroup)\n"
               "     --cgroup-backend=TYPE  auto, systemd or cgroupfs (default: auto)\n"
               "     --state-dir=PATH       Machine state files (default: /run/systemd/machines)\n"
               "     --runtime-dir=PATH     Varlink socket directory (default: /run/systemd/machine)\n"
               "     --pool=PATH            Image pool (default: /var/lib/machines)\n"
               "     --no-varlink           Do not serve io.systemd.Machine\n"
               "     --log-dir=PATH         Console logs of machines we start (default: /var/log/berth)\n"
               "     --enabled-dir=PATH     Images started at daemon start (default: /etc/berth/enabled)\n"
               "     --spawn=PATH           The spawn binary for starting images (default: spawn next\n"
               "                            to machined, else from $PATH)\n"
               "     --start-network=veth|host\n"
               "                            Network of the machines we start: a veth pair with\n"
               "                            addresses (spawn -n, as systemd-nspawn@.service), or\n"
               "                            the host's (default: veth)\n"
               "     --terminate-timeout=SEC\n"
               "                            How long terminate waits for a machine's supervisor\n"
               "                            (spawn, systemd-nspawn) to halt it before killing it\n"
               "                            (default: 30)\n"
               "     --bus-address=ADDRESS  Connect to this bus instead of the system bus\n"
               "     --log-level=LEVEL      err, warning, notice, info or debug (default: info)\n"
               "\nSee the machined(8) man page for details.\n");
}

static int parse_log_level(const char *s) {
        static const struct {
                const char *name;
                int level;
        } t[] = { { "err", LOG_LEVEL_ERR }, { "warning", LOG_LEVEL_WARNING }, { "notice", LOG_LEVEL_NOTICE },
                  { "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG } };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                if (streq(s, t[i].name))
                        return t[i].level;
        return -EINVAL;
}

static int set_path(char **dst, const char *arg, const char *opt, bool absolute) {
        if (isempty(arg) || (absolute && arg[0] != '/'))
                return log_error_errno(EINVAL, "%s needs %s path.", opt, absolute ? "an absolute" : "a");
        char *p = strdup(arg);
        if (!p)
                return log_oom();
        free(*dst);
        *dst = p;
        return 0;
}

/* Returns 1 to go on, 0 to exit successfully (--help), < 0 on error. */
static int parse_argv(int argc, char *argv[], ManagerConfig *c) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CGROUP_ROOT,
                ARG_CGROUP_BACKEND,
                ARG_STATE_DIR,
                ARG_RUNTIME_DIR,
                ARG_POOL,
                ARG_NO_VARLINK,
                ARG_BUS_ADDRESS,
                ARG_LOG_LEVEL,
                ARG_LOG_DIR,
                ARG_ENABLED_DIR,
                ARG_SPAWN,
                ARG_TERMINATE_TIMEOUT,
                ARG_START_NETWORK,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
                { "cgroup-backend", required_argument, NULL, ARG_CGROUP_BACKEND },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "pool", required_argument, NULL, ARG_POOL },
                { "no-varlink", no_argument, NULL, ARG_NO_VARLINK },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "log-dir", required_argument, NULL, ARG_LOG_DIR },
                { "enabled-dir", required_argument, NULL, ARG_ENABLED_DIR },
                { "spawn", required_argument, NULL, ARG_SPAWN },
                { "terminate-timeout", required_argument, NULL, ARG_TERMINATE_TIMEOUT },
                { "start-network", required_argument, NULL, ARG_START_NETWORK },
                {},
        };
        int opt, r;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("machined (berth) %s\n", BERTH_VERSION);
                        return 0;
                case ARG_CGROUP_ROOT:
                        r = set_path(&c->cgroup_root, optarg, "--cgroup-root=", false);
                        break;
                case ARG_TERMINATE_TIMEOUT: {
                        unsigned sec;
                        if (safe_atou(optarg, &sec) < 0 || sec == 0 || sec > 3600)
                                return log_error_errno(EINVAL, "Invalid --terminate-timeout= '%s' (want seconds, 1 to 3600).", optarg);
                        c->terminate_timeout_usec = (uint64_t) sec * 1000000ULL;
                        r = 0;
                        break;
                }
                case ARG_START_NETWORK:
                        if (!streq(optarg, "veth") && !streq(optarg, "host"))
                                return log_error_errno(EINVAL, "Invalid --start-network= '%s' (want veth or host).", optarg);
                        c->start_host_network = streq(optarg, "host");
                        r = 0;
                        break;
                case ARG_CGROUP_BACKEND:
                        c->backend = cgroup_backend_type_from_string(optarg);
                        if (c->backend < 0)
                                return log_error_errno(EINVAL, "Unknown cgroup backend '%s' (want auto, systemd or cgroupfs).", optarg);
                        r = 0;
                        break;
                case ARG_STATE_DIR:
                        r = set_path(&c->state_dir, optarg, "--state-dir=", true);
                        break;
                case ARG_RUNTIME_DIR:
                        r = set_path(&c->runtime_dir, optarg, "--runtime-dir=", true);
                        break;
                case ARG_POOL:
                        r = set_path(&c->pool_path, optarg, "--pool=", true);
                        break;
                case ARG_NO_VARLINK:
                        c->varlink = false;
                        r = 0;
                        break;
                case ARG_BUS_ADDRESS:
                        r = set_path(&c->bus_address, optarg, "--bus-address=", false);
                        break;
                case ARG_LOG_DIR:
                        r = set_path(&c->log_dir, optarg, "--log-dir=", true);
                        break;
                case ARG_ENABLED_DIR:
                        r = set_path(&c->enabled_dir, optarg, "--enabled-dir=", true);
                        break;
                case ARG_SPAWN:
                        /* A path, or a name to look up in $PATH. */
                        r = set_path(&c->spawn_path, optarg, "--spawn=", false);
                        break;
                case ARG_LOG_LEVEL:
                        r = parse_log_level(optarg);
                        if (r < 0)
                                return log_error_errno(EINVAL, "Unknown log level '%s'.", optarg);
                        log_set_max_level(r);
                        r = 0;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return log_error_errno(EINVAL, "Unhandled option.");
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return log_error_errno(EINVAL, "machined takes no arguments.");
        return 1;
}

static int config_defaults(ManagerConfig *c) {
        *c = (ManagerConfig) { .varlink = true, .backend = CGROUP_BACKEND_AUTO,
                               .terminate_timeout_usec = TERMINATE_TIMEOUT_USEC_DEFAULT };
        c->state_dir = strdup("/run/systemd/machines");
        c->runtime_dir = strdup("/run/systemd/machine");
        c->pool_path = strdup("/var/lib/machines");
        c->log_dir = strdup("/var/log/berth");
        c->enabled_dir = strdup("/etc/berth/enabled");
        return c->state_dir && c->runtime_dir && c->pool_path && c->log_dir && c->enabled_dir ? 0 : log_oom();
}

static int run(int argc, char *argv[]) {
        ManagerConfig config;
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        Manager *m = NULL;
        int r;

        log_set_program_name("machined");
        r = config_defaults(&config);
        if (r < 0)
                return r;
        r = parse_argv(argc, argv, &config);
        if (r <= 0) {
                manager_config_done(&config);
                return r;
        }
        if (geteuid() != 0)
                log_warning("Not running as root: registering machines and moving processes will fail.");

        /* Every machine holds two pidfds and every Varlink client a socket: 1024 is ~500
         * machines (issue 11, finding 4). Children go back to 1024 before they execute anything. */
        unsigned long old_soft;
        r = rlimit_nofile_bump(&old_soft);
        if (r < 0)
                log_warning_errno(r, "Failed to raise the descriptor limit (RLIMIT_NOFILE), ignoring: %m");
        else
                log_debug("Descriptor limit raised from %lu to the hard limit.", old_soft);
        umask(0022);
        /* A small heap: machined is single-threaded, one arena is plenty. */
        (void) mallopt(M_ARENA_MAX, 1);
        /* SIGCHLD for sd_event_add_child(); the others become event sources ending the loop. */
        r = sigprocmask_many(SIG_BLOCK, NULL, SIGCHLD, SIGTERM, SIGINT, SIGHUP, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to block signals: %m");
        (void) signal(SIGPIPE, SIG_IGN);
        /* Orphans of shells we started come to us to be reaped, not to someone who may not. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                log_warning_errno(errno, "Failed to become a child subreaper, ignoring: %m");

        r = sd_event_default(&event);
        if (r < 0) {
                manager_config_done(&config);
                return log_error_errno(r, "Failed to allocate event loop: %m");
        }
        (void) sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        (void) sd_event_add_signal(event, NULL, SIGHUP, NULL, NULL);

        r = manager_new(&config, event, &m);
        if (r < 0)
                goto finish;
        r = manager_connect_bus(m);
        if (r < 0)
                goto finish;
        /* Before touching any state: another instance owns it while it owns the name. */
        r = manager_check_name_free(m);
        if (r < 0)
                goto finish;
        r = manager_setup_cgroup(m);
        if (r < 0)
                goto finish;
        r = manager_add_host_machine(m);
        if (r < 0)
                goto finish;
        r = manager_load_state(m);
        if (r < 0)
                log_warning_errno(r, "Failed to load machine state, ignoring: %m");
        /* After the machines: it re-adopts the spawn processes behind them. */
        r = supervisor_setup(m);
        if (r < 0)
                goto finish;
        r = m->config.varlink ? machined_varlink_init(m) : 0;
        if (r >= 0 && m->config.varlink)
                r = machined_varlink_image_init(m);
        if (r < 0)
                goto finish;
        r = manager_request_name(m);
        if (r < 0)
                goto finish;

        /* Only now: spawn registers its machine with us. */
        supervisor_start_enabled(m);
        (void) sd_notify(false, "READY=1\nSTATUS=Processing requests...");
        log_debug("machined running.");
        r = sd_event_loop(event);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
finish:
        bus = m ? m->bus : NULL;
        manager_free(m);
        machined_bus_close(bus);
        manager_config_done(&config);
        sd_event_unref(event);
        return r;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
