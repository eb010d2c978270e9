/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-oci: an OCI runtime with runc's command line, for podman (through conmon), containerd's
 * runc shim and whatever else drives runc. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "oci-runtime.h"
#include "strv.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0"
#endif

static int log_file_fd = -1;
static bool log_file_json = false;

/* --log FILE: where conmon and containerd's shim look for the reason a command failed. runc
 * writes there instead of stderr (which may be the container's own output), and so do we. */
static bool log_to_file(int level, int error, const char *message) {
        (void) error;
        if (log_file_fd < 0)
                return false;
        static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
        const char *lvl = level >= 0 && level < 8 ? names[level] : "info";
        char ts[64];
        time_t t = time(NULL);
        struct tm tm;
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        if (log_file_json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "level", json_object_new_string(lvl));
                json_object_object_add(o, "msg", json_object_new_string(message));
                json_object_object_add(o, "time", json_object_new_string(ts));
                const char *line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                _cleanup_free_ char *l = strjoin_many(line, "\n", NULL);
                if (l)
                        (void) loop_write(log_file_fd, l, strlen(l));
                json_object_put(o);
        } else
                dprintf(log_file_fd, "time=\"%s\" level=%s msg=\"%s\"\n", ts, lvl, message);
        return true;
}

static void help(void) {
        printf("berth-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID [ARGS]\n\n"
               "An OCI runtime (runc's command line) built on berth.\n\n"
               "Commands:\n"
               "  create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID\n"
               "  start ID                     let a created container run its process\n"
               "  run [create's options] [-d] ID   create and start, and wait unless -d\n"
               "  state ID                     print the state as JSON\n"
               "  kill [--all] ID [SIGNAL]     signal the init (all processes with --all)\n"
               "  delete [--force] ID          remove a stopped container (--force: kill it first)\n"
               "  exec [OPTIONS] ID [CMD...]   run a process in the container (--process FILE, -t,\n"
               "                               --console-socket, -d, --pid-file, --cwd, -e, -u, --cap)\n"
               "  list [--format table|json] [-q]   list containers\n"
               "  ps [--format table|json] ID  the container's processes\n"
               "  pause ID, resume ID          freeze and thaw the container's cgroup\n"
               "  update [--resources FILE|-] [--memory B] [--pids-limit N] [--cpu-quota U]\n"
               "         [--cpu-period U] [--cpu-share N] ID   change linux.resources\n"
               "  features                     what this runtime supports, as JSON\n\n"
               "Global options:\n"
               "  --root DIR         state directory (default " OCI_DEFAULT_ROOT ")\n"
               "  --log FILE         log there instead of stderr\n"
               "  --log-format text|json\n"
               "  --systemd-cgroup   cgroupsPath is slice:prefix:name\n"
               "  --debug            log debug messages\n"
               "  -h --help, -v --version\n");
}

static const struct {
        const char *name;
        int (*fn)(const OciGlobal *g, int argc, char **argv);
} verbs[] = {
        { "create", verb_create }, { "start", verb_start },     { "run", verb_run },   { "state", verb_state },
        { "kill", verb_kill },     { "delete", verb_delete },   { "exec", verb_exec }, { "list", verb_list },
        { "ps", verb_ps },         { "features", verb_features }, { "pause", verb_pause },
        { "resume", verb_resume }, { "update", verb_update },
};

static int parse_global(int argc, char **argv, OciGlobal *g) {
        enum { ARG_ROOT = 0x100, ARG_LOG, ARG_LOG_FORMAT, ARG_SYSTEMD, ARG_DEBUG, ARG_IGNORE, ARG_IGNORE_ARG };
        static const struct option options[] = {
                { "root", required_argument, NULL, ARG_ROOT },
                { "log", required_argument, NULL, ARG_LOG },
                { "log-format", required_argument, NULL, ARG_LOG_FORMAT },
                { "systemd-cgroup", no_argument, NULL, ARG_SYSTEMD },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "rootless", required_argument, NULL, ARG_IGNORE_ARG },
                { "criu", required_argument, NULL, ARG_IGNORE_ARG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'v' },
                {}
        };
        int c;
        while ((c = getopt_long(argc, argv, "+hv", options, NULL)) >= 0)
                switch (c) {
                case ARG_ROOT: g->root = optarg; break;
                case ARG_LOG: g->log_path = optarg; break;
                case ARG_LOG_FORMAT:
                        if (!streq(optarg, "json") && !streq(optarg, "text"))
                                return log_error_errno(EINVAL, "--log-format wants text or json, not '%s'", optarg);
                        g->log_json = streq(optarg, "json");
                        break;
                case ARG_SYSTEMD: g->systemd_cgroup = true; break;
                case ARG_DEBUG: g->debug = true; break;
                case ARG_IGNORE: case ARG_IGNORE_ARG: break;
                case 'h': help(); return 0;
                case 'v':
                        printf("berth-oci version %s\nspec: 1.1.0\n", BERTH_VERSION);
                        return 0;
                default: return -EINVAL;
                }
        return 1;
}

int main(int argc, char **argv) {
        OciGlobal g = { .root = OCI_DEFAULT_ROOT };
        log_set_program_name("berth-oci");
        int r = parse_global(argc, argv, &g);
        if (r <= 0)
                return r < 0 ? 1 : 0;
        if (g.debug)
                log_set_max_level(LOG_LEVEL_DEBUG);
        if (g.log_path) {
                log_file_fd = open(g.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (log_file_fd < 0)
                        return log_error_errno(errno, "Failed to open the log %s: %m", g.log_path), 1;
                log_file_json = g.log_json;
                log_set_sink(log_to_file);
        }
        if (optind >= argc) {
                help();
                return 1;
        }
        const char *verb = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, verb))
                        return verbs[i].fn(&g, argc - optind, argv + optind);
        log_error("Unknown command '%s' (see berth-oci --help)", verb);
        return 1;
}
