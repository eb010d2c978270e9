/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "parse-util.h"
#include "spawn-options.h"
#include "spawn-register.h"
#include "string-table.h"

#ifndef BERTH_LIBEXECDIR
#define BERTH_LIBEXECDIR "/usr/libexec/berth"
#endif

static const char *const register_mode_table[_REGISTER_MODE_MAX] = {
        [REGISTER_NO] = "no",
        [REGISTER_YES] = "yes",
        [REGISTER_AUTO] = "auto",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(register_mode, RegisterMode)

RegisterMode register_mode_from_string(const char *s) {
        int i = string_table_lookup(register_mode_table, ELEMENTSOF(register_mode_table), s);
        if (i >= 0)
                return (RegisterMode) i;
        if (!s)
                return _REGISTER_MODE_INVALID;
        int b = parse_boolean(s);
        if (b >= 0)
                return b ? REGISTER_YES : REGISTER_NO;
        return _REGISTER_MODE_INVALID;
}

/* The path of the system bus socket, as sd-bus would find it: $DBUS_SYSTEM_BUS_ADDRESS's first
 * unix:path=, else the well-known path. NULL (with errno EPROTONOSUPPORT) for other transports. */
static char *system_bus_path(void) {
        const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");

        if (isempty(a))
                return strdup("/run/dbus/system_bus_socket");
        const char *p = strstr(a, "unix:path=");
        if (!p) {
                errno = EPROTONOSUPPORT;
                return NULL;
        }
        p += strlen("unix:path=");
        return strndup(p, strcspn(p, ",;"));
}

static bool system_bus_exists(void) {
        _cleanup_free_ char *path = system_bus_path();
        struct stat st;

        if (!path)
                return errno == EPROTONOSUPPORT; /* some other transport: let the helper try */
        return stat(path, &st) >= 0 && S_ISSOCK(st.st_mode);
}

/* The registry records whoever calls it as the machine's supervisor, from the credentials the
 * bus took at connect(): so spawn connects, and the helper only speaks over that connection. */
static int system_bus_connect(void) {
        _cleanup_free_ char *path = system_bus_path();
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (!path || strlen(path) >= sizeof(sa.sun_path))
                return -EPROTONOSUPPORT;
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

bool register_wanted(const SpawnConfig *c) {
        if (c->opt.register_mode == REGISTER_NO)
                return false;
        if (c->opt.register_mode == REGISTER_YES || system_bus_exists())
                return true;
        log_notice("No machine registry (org.freedesktop.machine1) reachable; machine %s is not registered.", c->res.machine);
        return false;
}

/* The helper lives next to spawn (a build tree, or an install with both in one directory), else
 * in libexecdir. $BERTH_REGISTER_HELPER overrides both. */
static char *find_helper(void) {
        const char *e = getenv("BERTH_REGISTER_HELPER");
        if (!isempty(e))
                return strdup(e);

        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = 0;
                char *slash = strrchr(self, '/');
                if (slash) {
                        *slash = 0;
                        char *p = strjoin(self, "/spawn-register");
                        if (!p || access(p, X_OK) >= 0)
                                return p;
                        free(p);
                }
        }
        return strdup(BERTH_LIBEXECDIR "/spawn-register");
}

/* Runs the helper with argv[1...]; argv[0] is replaced in the child only. The helper gets our
 * connection to the system bus as fd 3 when we could make one (else it connects itself). */
static int run_helper(char **argv) {
        _cleanup_free_ char *helper = find_helper();
        _cleanup_close_ int bus_fd = system_bus_connect();
        int status;

        if (!helper)
                return log_oom();
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork: %m");
        if (pid == 0) {
                /* The helper prints its one error line to our stderr; nothing else is shared. */
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        (void) dup2(null, STDIN_FILENO);
                        (void) dup2(null, STDOUT_FILENO);
                }
                if (log_get_fd() != STDERR_FILENO)
                        (void) dup2(log_get_fd(), STDERR_FILENO);
                if (bus_fd >= 0 && fd_move_to(bus_fd, 3) < 0)
                        _exit(REGISTER_HELPER_FAILED);
                argv[0] = helper;
                if (bus_fd >= 0)
                        (void) setenv("BERTH_BUS_FD", "3", 1);
                execv(helper, argv);
                log_error_errno(errno, "Failed to execute %s: %m", helper);
                _exit(REGISTER_HELPER_FAILED);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(errno, "Failed to wait for %s: %m", helper);
        if (!WIFEXITED(status))
                return log_error_errno(EPROTO, "%s died unexpectedly.", helper);
        return WEXITSTATUS(status);
}

int register_machine(const SpawnConfig *c, pid_t leader, int netif) {
        const CGroupLimits *l = &c->opt.limits;
        _cleanup_strv_free_ char **argv = NULL;
        char uuid[37], pid[16], buf[64];
        int r;

        snprintf(pid, sizeof(pid), "%i", (int) leader);
        if (strv_extend(&argv, "spawn-register") < 0 ||
            strv_extend(&argv, c->opt.register_mode == REGISTER_YES ? "--mode=yes" : "--mode=auto") < 0 ||
            (c->opt.keep_unit && strv_extend(&argv, "--keep-unit") < 0) ||
            (c->opt.quiet && strv_extend(&argv, "--quiet") < 0) ||
            (c->opt.slice && strv_consume(&argv, strjoin("--slice=", c->opt.slice)) < 0))
                return log_oom();
        if (netif > 0) {
                snprintf(buf, sizeof(buf), "--netif=%i", netif);
                if (strv_extend(&argv, buf) < 0)
                        return log_oom();
        }

        /* Limits in the scope property names and units systemd uses; UINT64_MAX = infinity. */
        const struct {
                const char *name;
                uint64_t v;
        } props[] = {
                { "MemoryMax", l->memory_max }, { "TasksMax", l->tasks_max },
                { "CPUQuotaPerSecUSec", l->cpu_quota_per_sec_usec }, { "CPUWeight", l->cpu_weight },
                { "IOWeight", l->io_weight },
        };
        for (size_t i = 0; i < ELEMENTSOF(props); i++) {
                if (props[i].v == UINT64_MAX)
                        continue;
                snprintf(buf, sizeof(buf), "--property=%s=%llu", props[i].name,
                         (unsigned long long) (props[i].v == CGROUP_LIMIT_MAX ? UINT64_MAX : props[i].v));
                if (strv_extend(&argv, buf) < 0)
                        return log_oom();
        }
        if (strv_extend(&argv, c->res.machine) < 0 || strv_extend(&argv, id128_to_uuid_string(&c->res.uuid, uuid)) < 0 ||
            strv_extend(&argv, pid) < 0 || strv_extend(&argv, spawn_resolved_origin(&c->res)) < 0)
                return log_oom();

        r = run_helper(argv);
        if (r < 0)
                return r;
        if (r == REGISTER_HELPER_REGISTERED)
                return 1;
        if (r == REGISTER_HELPER_NO_REGISTRY && c->opt.register_mode == REGISTER_AUTO) {
                log_notice("No machine registry (org.freedesktop.machine1) reachable; machine %s is not registered.", c->res.machine);
                return 0;
        }
        return -ECANCELED; /* the helper said why */
}

void register_forget(const SpawnConfig *c) {
        char *argv[] = { (char *) "spawn-register", (char *) "--unregister", c->res.machine, NULL };
        (void) run_helper(argv);
}

bool register_bus_name_owned(const char *name) {
        _cleanup_free_ char *arg = strjoin("--has-owner=", name);
        char *argv[] = { (char *) "spawn-register", arg, NULL };

        if (!arg || !system_bus_exists())
                return false;
        return run_helper(argv) == REGISTER_HELPER_REGISTERED;
}
