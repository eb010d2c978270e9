/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* terminate, poweroff, reboot, kill (org.freedesktop.machine1) and start, stop, enable, disable
 * (io.berth.Machined1): one call per machine; every machine is tried, the first error counts. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "machinectl-bus.h"
#include "machinectl.h"
#include "signal-util.h"
#include "strv.h"

/* Starting and stopping wait for the machine to register or to be gone, which for a booting or
 * shutting down OS takes longer than sd-bus's 25 s default. */
#define IMAGE_CALL_TIMEOUT_USEC (180ULL * 1000000ULL)

int verb_terminate(sd_bus *bus, char **args, const MachinectlConfig *c) {
        int ret = 0;

        for (char **name = args + 1; *name; name++) {
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
                int r = manager_call(bus, "TerminateMachine", &error, NULL, "s", *name);
                if (r < 0)
                        ret = ret ?: log_bus_error(r, &error, *name, "terminate machine '%s'", *name);
        }
        return ret;
}

static int kill_machines(sd_bus *bus, char **names, KillWhom whom, int sig) {
        int ret = 0;

        for (char **name = names; *name; name++) {
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
                int r = manager_call(bus, "KillMachine", &error, NULL, "ssi", *name, kill_whom_to_string(whom), sig);
                if (r < 0)
                        ret = ret ?: log_bus_error(r, &error, *name, "send %s to machine '%s'", strna(signal_to_string(sig)), *name);
        }
        return ret;
}

int verb_poweroff(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return kill_machines(bus, args + 1, KILL_LEADER, POWEROFF_SIGNAL);
}

int verb_reboot(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return kill_machines(bus, args + 1, KILL_LEADER, REBOOT_SIGNAL);
}

int verb_kill(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return kill_machines(bus, args + 1, c->kill_whom >= 0 ? c->kill_whom : KILL_ALL, c->signal > 0 ? c->signal : SIGTERM);
}

/* One io.berth.Machined1 method with the image name. */
static int image_call(sd_bus *bus, const char *method, const char *name, const char *action) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_SERVICE, MACHINE1_PATH, BERTH_MACHINED_INTERFACE, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return log_error_errno(r, "Failed to build the %s call: %m", method);
        r = sd_bus_call(bus, m, IMAGE_CALL_TIMEOUT_USEC, &error, NULL);
        if (r >= 0)
                return 0;
        if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_UNKNOWN_OBJECT))
                return log_error_errno(EOPNOTSUPP,
                                       "Cannot %s '%s': the machine manager on the bus does not provide %s.%s() "
                                       "(with systemd-machined, use systemctl on spawn@%s.service).",
                                       action, name, BERTH_MACHINED_INTERFACE, method, name);
        return log_bus_error(r, &error, name, "%s '%s'", action, name);
}

static int image_calls(sd_bus *bus, char **names, const char *method, const char *action) {
        int ret = 0;
        for (char **name = names; *name; name++) {
                int r = image_call(bus, method, *name, action);
                if (r == -EOPNOTSUPP)
                        return r; /* the same for every other name */
                if (r < 0)
                        ret = ret ?: r;
        }
        return ret;
}

int verb_start(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return image_calls(bus, args + 1, "StartImage", "start");
}

int verb_stop(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return image_calls(bus, args + 1, "StopImage", "stop");
}

int verb_enable(sd_bus *bus, char **args, const MachinectlConfig *c) {
        int r = image_calls(bus, args + 1, "EnableImage", "enable");
        if (r < 0 || !c->now)
                return r;
        return image_calls(bus, args + 1, "StartImage", "start");
}

int verb_disable(sd_bus *bus, char **args, const MachinectlConfig *c) {
        int r = image_calls(bus, args + 1, "DisableImage", "disable");
        if (r < 0 || !c->now)
                return r;
        return image_calls(bus, args + 1, "StopImage", "stop");
}

/* copy-to NAME HOST-PATH [MACHINE-PATH], copy-from NAME MACHINE-PATH [HOST-PATH]: the other path
 * defaults to the same one; a relative host path is taken from our working directory. --force
 * replaces what is at the destination (MACHINE_COPY_REPLACE). */
static int copy_files(sd_bus *bus, char **args, const MachinectlConfig *c, bool to_machine) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *abs = NULL;
        const char *name = args[1];
        /* The host side: copy-to's source, copy-from's destination (by default the source). */
        const char *host = to_machine || !args[3] ? args[2] : args[3];
        int r;

        if (host[0] != '/') {
                char cwd[4096];
                if (!getcwd(cwd, sizeof(cwd)))
                        return log_error_errno(errno, "Failed to get the current directory: %m");
                abs = strjoin(cwd, "/", host);
                if (!abs)
                        return log_oom();
                host = abs;
        }
        const char *inside = to_machine ? (args[3] ?: host) : args[2];
        if (inside[0] != '/')
                return log_error_errno(EINVAL, "The path in the machine must be absolute: '%s'.", inside);
        const char *src = to_machine ? host : inside, *dest = to_machine ? inside : host;
        const char *method = to_machine ? (c->force ? "CopyToMachineWithFlags" : "CopyToMachine")
                                        : (c->force ? "CopyFromMachineWithFlags" : "CopyFromMachine");
        if (c->force)
                r = manager_call(bus, method, &error, NULL, "ssst", name, src, dest, (uint64_t) 1 /* MACHINE_COPY_REPLACE */);
        else
                r = manager_call(bus, method, &error, NULL, "sss", name, src, dest);
        if (r < 0)
                return log_bus_error(r, &error, name, "copy %s %s machine '%s'", src, to_machine ? "into" : "out of", name);
        return 0;
}

int verb_copy_to(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return copy_files(bus, args, c, true);
}

int verb_copy_from(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return copy_files(bus, args, c, false);
}

/* bind NAME HOST-PATH [PATH]: HOST-PATH mounted on PATH (by default the same) in the container. */
int verb_bind(sd_bus *bus, char **args, const MachinectlConfig *c) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *name = args[1], *src = args[2], *dest = args[3] ?: args[2];

        if (src[0] != '/' || dest[0] != '/')
                return log_error_errno(EINVAL, "Both paths must be absolute: '%s', '%s'.", src, dest);
        int r = manager_call(bus, "BindMountMachine", &error, NULL, "sssbb", name, src, dest, (int) c->read_only,
                             (int) c->mkdir);
        if (r < 0)
                return log_bus_error(r, &error, name, "bind %s into machine '%s'", src, name);
        return 0;
}
