/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "log.h"
#include "machine.h"
#include "macro.h"
#include "manager.h"
#include "operation.h"
#include "path-util.h"
#include "pidref.h"
#include "string-table.h"
#include "strv.h"
#include "supervisor.h"
#include "unit-name.h"
#include "varlink.h"

static const char *const cgroup_backend_type_table[_CGROUP_BACKEND_MAX] = {
        [CGROUP_BACKEND_AUTO] = "auto",
        [CGROUP_BACKEND_SYSTEMD] = "systemd",
        [CGROUP_BACKEND_CGROUPFS] = "cgroupfs",
};

DEFINE_STRING_TABLE_LOOKUP(cgroup_backend_type, CGroupBackendType)

void manager_config_done(ManagerConfig *c) {
        free(c->state_dir);
        free(c->runtime_dir);
        free(c->pool_path);
        free(c->cgroup_root);
        free(c->bus_address);
        free(c->log_dir);
        free(c->enabled_dir);
        free(c->spawn_path);
        *c = (ManagerConfig) {};
}

/* Reaps every child: our helpers, and, since we are a child subreaper, session processes
 * orphaned by a helper that was killed. Left as zombies, those would keep the guest's PID 1 from
 * finishing its exit (it waits for every process of its namespace), and so its machine alive. */
static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *ssi, void *userdata) {
        Manager *m = userdata;
        for (;;) {
                siginfo_t si = {};
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                        break;
                if (!supervisor_reaped(m, &si))
                        operation_reaped(m, &si);
        }
        return 0;
}

int manager_new(ManagerConfig *config, sd_event *event, Manager **ret) {
        Manager *m = calloc(1, sizeof(Manager));
        int r;

        if (!m)
                return -ENOMEM;
        m->config = *config;
        *config = (ManagerConfig) {};
        m->event = sd_event_ref(event);
        m->state_dir_fd = -EBADF;

        r = sd_event_add_signal(event, &m->sigchld_source, SIGCHLD, on_sigchld, m);
        if (r < 0) {
                log_error_errno(r, "Failed to watch SIGCHLD: %m");
                goto fail;
        }

        r = mkdir_p(m->config.state_dir, 0755);
        if (r < 0) {
                log_error_errno(r, "Failed to create state directory %s: %m", m->config.state_dir);
                goto fail;
        }
        m->state_dir_fd = open(m->config.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->state_dir_fd < 0) {
                r = log_error_errno(errno, "Failed to open state directory %s: %m", m->config.state_dir);
                goto fail;
        }
        *ret = m;
        return 0;
fail:
        manager_free(m);
        return r;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* Machines, the spawn processes we supervise and shells keep running: a restarted
         * machined adopts them again. */
        m->supervisor = supervisor_free(m->supervisor);
        while (m->operations)
                operation_free(m->operations);
        while (m->machines)
                machine_free(m->machines);
        m->varlink = varlink_server_free(m->varlink);
        m->varlink_image = varlink_server_free(m->varlink_image);
        if (m->cgroup_ops)
                m->cgroup_ops->done(m);
        /* m->bus is the D-Bus binding's: machined.c closes it once the answers given above are out. */
        sd_event_source_disable_unref(m->sigchld_source);
        sd_event_unref(m->event);
        safe_close(m->state_dir_fd);
        manager_config_done(&m->config);
        free(m);
        return NULL;
}

int manager_setup_cgroup(Manager *m) {
        CGroupBackendType t = m->config.backend;
        int r;

        if (t == CGROUP_BACKEND_AUTO) {
                r = cgroup_systemd_available(m);
                t = r > 0 ? CGROUP_BACKEND_SYSTEMD : CGROUP_BACKEND_CGROUPFS;
        }
        m->cgroup_ops = t == CGROUP_BACKEND_SYSTEMD ? &cgroup_ops_systemd : &cgroup_ops_cgroupfs;
        r = m->cgroup_ops->init(m);
        if (r < 0) {
                m->cgroup_ops = NULL;
                return r;
        }
        log_debug("Using the %s cgroup backend.", m->cgroup_ops->name);
        return 0;
}

Machine *manager_get_machine(Manager *m, const char *name) {
        Machine *i;
        LIST_FOREACH(machines, i, m->machines)
                if (streq(i->name, name))
                        return i;
        return NULL;
}

Machine *manager_get_machine_by_unit(Manager *m, const char *unit) {
        Machine *i;
        LIST_FOREACH(machines, i, m->machines)
                if (i->unit && streq(i->unit, unit))
                        return i;
        return NULL;
}

int manager_get_machine_by_pid(Manager *m, pid_t pid, Machine **ret) {
        _cleanup_free_ char *unit = NULL;
        Machine *i;

        *ret = NULL;
        if (pid <= 0)
                return -EINVAL;
        LIST_FOREACH(machines, i, m->machines)
                if (i->leader.pid == pid) {
                        *ret = i;
                        return 1;
                }
        int r = m->cgroup_ops->pid_get_unit(m, pid, &unit, NULL, NULL);
        if (r == -ENXIO || r == -ESRCH)
                return 0;
        if (r < 0)
                return r;
        *ret = manager_get_machine_by_unit(m, unit);
        return *ret ? 1 : 0;
}
