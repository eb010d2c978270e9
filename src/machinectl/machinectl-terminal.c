/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* login, shell: machined hands us the master of a pty inside the machine, we forward our
 * terminal to it until the session ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "machinectl-bus.h"
#include "machinectl-pty.h"
#include "machinectl.h"
#include "strv.h"

/* systemd's name for the host itself as a machine. */
#define HOST_MACHINE ".host"

/* The pty master from an Open*() reply; the reply owns its fd, so it is duplicated. */
static int read_pty_reply(sd_bus_message *reply, int *ret_master) {
        const char *path;
        int fd, r;

        r = sd_bus_message_read(reply, "hs", &fd, &path);
        if (r < 0)
                return r;
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        *ret_master = fd;
        return 0;
}

static int forward(int master, const char *machine, OscFilter *filter, const MachinectlConfig *c) {
        bool chatty = !c->quiet && isatty(STDIN_FILENO) > 0;
        int r;

        if (chatty)
                log_info("Connected to machine %s. Press ^] three times within 1s to exit session.", machine);
        r = pty_forward(master, filter);
        if (r < 0)
                return log_error_errno(r, "Failed to forward the terminal of machine %s: %m", machine);
        if (chatty)
                log_info("\nConnection to machine %s terminated.", machine);
        if (r == PTY_FORWARD_SIGNALED)
                return log_error_errno(EINTR, "Interrupted, disconnected from machine %s.", machine);
        return r;
}

int verb_login(sd_bus *bus, char **args, const MachinectlConfig *c) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_close_ int master = -EBADF;
        const char *machine = args[1] ?: HOST_MACHINE;
        int r;

        r = manager_call(bus, "OpenMachineLogin", &error, &reply, "s", machine);
        if (r < 0)
                return log_bus_error(r, &error, machine, "open a login session in machine '%s'", machine);
        r = read_pty_reply(reply, &master);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply to OpenMachineLogin: %m");
        r = forward(master, machine, NULL, c);
        return r < 0 ? r : 0;
}

/* "[USER@]MACHINE" → user (NULL: the default) and machine; an empty machine is the host. */
static int split_user_machine(const char *target, char **ret_user, char **ret_machine) {
        const char *at = target ? strchr(target, '@') : NULL;
        char *user = NULL, *machine;

        if (at && at > target && !(user = strndup(target, (size_t) (at - target))))
                return -ENOMEM;
        machine = strdup(at ? at + 1 : target ?: "");
        if (!machine) {
                free(user);
                return -ENOMEM;
        }
        if (!*machine) {
                free(machine);
                machine = strdup(HOST_MACHINE);
                if (!machine) {
                        free(user);
                        return -ENOMEM;
                }
        }
        *ret_user = user;
        *ret_machine = machine;
        return 0;
}

int verb_shell(sd_bus *bus, char **args, const MachinectlConfig *c) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *user = NULL, *machine = NULL;
        _cleanup_strv_free_ char **env = strv_copy(c->setenv);
        _cleanup_close_ int master = -EBADF;
        const char *path = args[1] && args[2] ? args[2] : "";
        int r;

        if (!env)
                return log_oom();
        r = split_user_machine(args[1], &user, &machine);
        if (r < 0)
                return log_oom();
        /* The terminal type of the terminal we forward, unless the caller set one. Without one,
         * machined's default (vt220): machined writes the exit status only for a client with a
         * TERM other than dumb, and we strip the sequences ourselves off a terminal. */
        if (!strv_env_get(env, "TERM") && strv_env_setf(&env, "TERM", getenv("TERM") ?: "vt220") < 0)
                return log_oom();

        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_SERVICE, MACHINE1_PATH, MACHINE1_MANAGER, "OpenMachineShell");
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", machine, user ?: c->uid ?: "", path);
        /* argv including argv[0]: machined runs path with exactly these arguments. */
        if (r >= 0)
                r = sd_bus_message_append_strv(m, *path ? args + 2 : NULL);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, env);
        if (r < 0)
                return log_error_errno(r, "Failed to build the OpenMachineShell call: %m");
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return log_bus_error(r, &error, machine, "open a shell in machine '%s'", machine);
        r = read_pty_reply(reply, &master);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply to OpenMachineShell: %m");

        /* On a terminal the context sequences pass through (terminals that know them use them);
         * into a pipe or file only what the command wrote arrives. */
        bool tty = isatty(STDOUT_FILENO) > 0;
        OscFilter filter = { .strip = !tty, .crlf = !tty };
        r = forward(master, machine, &filter, c);
        if (r < 0)
                return r;
        if (r == PTY_FORWARD_ESCAPED)
                return 0;
        if (!filter.have_status) {
                /* systemd-machined does not report it (systemd issue #4215): nothing to pass on. */
                log_debug("Machine %s did not report the exit status of the shell.", machine);
                return 0;
        }
        return filter.status;
}
