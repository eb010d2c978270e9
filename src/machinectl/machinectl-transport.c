/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* -M/--machine=[USER@]NAME: the bus inside a local container, as systemd's machinectl reaches it.
 * The machine's leader comes from the host's machined; a child chroots into the leader's root,
 * becomes USER (looked up in the machine's own /etc/passwd, mapped to the host's IDs through
 * machined for a machine with a user namespace), connects to the machine's system bus socket and
 * passes the connection back. Connecting as USER is what makes the machine's dbus-daemon see that
 * user (SO_PEERCRED), without systemd or PAM in the guest. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-util.h"
#include "fd-util.h"
#include "log.h"
#include "machinectl-bus.h"
#include "machinectl-transport.h"
#include "macro.h"
#include "name-util.h"
#include "process-util.h"
#include "user-record.h"

#define MACHINE_BUS_SOCKET "/run/dbus/system_bus_socket"

/* The child's report: 0 and the connection, or an errno. */
static int send_result(int sock, int error, int fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = &error, .iov_len = sizeof(error) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control.buf);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* In the forked child: in the host's namespaces, about to chroot into the machine's root. */
static _noreturn_ void connect_child(int sock, int rootfd, uid_t uid, gid_t gid) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = MACHINE_BUS_SOCKET };
        int error = 0, fd = -1;

        /* chroot, so that a symlink in the guest resolves in the guest, never on the host. */
        if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0 || setgroups(0, NULL) < 0 ||
            setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                error = errno;
        else if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
                 connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                error = errno;
        _exit(send_result(sock, error, error ? -1 : fd) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

static int receive_result(int sock, int *ret_fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        int error = EIO;
        struct iovec iov = { .iov_base = &error, .iov_len = sizeof(error) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control.buf) };
        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        if (n != sizeof(error))
                return -EIO;
        *ret_fd = -1;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
        if (error != 0) {
                safe_close(*ret_fd);
                return -error;
        }
        return *ret_fd >= 0 ? 0 : -EIO;
}

/* A connection to the bus socket under rootfd as uid/gid. */
static int connect_as(int rootfd, uid_t uid, gid_t gid, int *ret_fd) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                safe_close(pair[0]);
                safe_close(pair[1]);
                return r;
        }
        if (pid == 0) {
                safe_close(pair[0]);
                connect_child(pair[1], rootfd, uid, gid);
        }
        safe_close(pair[1]);
        int r = receive_result(pair[0], ret_fd);
        safe_close(pair[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return r;
}

/* The leader of container name, and its root opened while it provably still ran. */
static int machine_root(sd_bus *host, const char *name, int *ret_rootfd) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL, *class = NULL;
        uint32_t leader = 0;
        char proc[64];

        int r = machine_object_path(host, name, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(host, MACHINE1_SERVICE, path, MACHINE1_MACHINE, "Leader", &error, 'u',
                                        &leader);
        if (r >= 0)
                r = sd_bus_get_property_string(host, MACHINE1_SERVICE, path, MACHINE1_MACHINE, "Class", &error,
                                               &class);
        if (r < 0)
                return log_bus_error(r, &error, name, "get the leader of machine '%s'", name);
        if (!streq(class, "container") || leader == 0)
                return log_error_errno(EOPNOTSUPP, "Machine '%s' is not a container with a leader: its bus cannot be reached.",
                                       name);
        _cleanup_close_ int pidfd = pidfd_open_pid((pid_t) leader);
        snprintf(proc, sizeof(proc), "/proc/%u/root", leader);
        _cleanup_close_ int rootfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0 && errno != ENOENT && errno != ESRCH)
                return log_error_errno(errno, "Failed to open the root of machine '%s': %m", name);
        if (pidfd < 0 || rootfd < 0 || pidfd_signal(pidfd, 0) < 0)
                return log_error_errno(ESRCH, "Machine '%s' is going away.", name);
        *ret_rootfd = TAKE_FD(rootfd);
        return 0;
}

/* uid/gid of the user in the machine → the host's, by machined's MapFromMachineUser/Group. */
static int map_ids(sd_bus *host, const char *name, uid_t *uid, gid_t *gid) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *methods[2] = { "MapFromMachineUser", "MapFromMachineGroup" };
        uint32_t *ids[2] = { uid, gid };

        for (size_t i = 0; i < 2; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int r = manager_call(host, methods[i], &error, &reply, "su", name, *ids[i]);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "u", ids[i]);
                if (r < 0)
                        return log_bus_error(r, &error, name, "map %s %u of machine '%s' to the host", i ? "group" : "user",
                                             *ids[i], name);
        }
        return 0;
}

int bus_connect_machine(const char *spec, sd_bus **ret) {
        _cleanup_(user_record_done) UserRecord u = {};
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *host = NULL, *bus = NULL;
        _cleanup_free_ char *user = NULL;
        _cleanup_close_ int rootfd = -EBADF, procfd = -EBADF;
        const char *at = strchr(spec, '@'), *name = at ? at + 1 : spec;
        int fd = -EBADF, r;

        if (at && !(user = strndup(spec, at - spec)))
                return log_oom();
        if (isempty(name))
                name = ".host";
        if (!streq(name, ".host") && !machine_name_is_valid(name))
                return log_error_errno(EINVAL, "Invalid machine name '%s'.", name);
        r = bus_connect_system(&host);
        if (r < 0)
                return r;
        if (streq(name, ".host") && isempty(user)) {
                *ret = TAKE_PTR(host);
                return 0;
        }
        if (streq(name, ".host"))
                rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        else if ((r = machine_root(host, name, &rootfd)) < 0)
                return r;
        procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0 || procfd < 0)
                return log_error_errno(errno, "Failed to open the root of machine '%s': %m", name);
        _cleanup_free_ gid_t *groups = NULL; /* not passed on: the connection needs the user, not its groups */
        size_t n_groups = 0;
        r = user_record_lookup_in_root(procfd, rootfd, isempty(user) ? "root" : user, &u, &groups, &n_groups);
        if (r < 0)
                return log_error_errno(r, "No user '%s' in machine '%s'%s", isempty(user) ? "root" : user, name,
                                       r == -ESRCH ? "." : ": %m");
        if (!streq(name, ".host") && (r = map_ids(host, name, &u.uid, &u.gid)) < 0)
                return r;

        r = connect_as(rootfd, u.uid, u.gid, &fd);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the bus of machine '%s': %m", name);
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0)
                safe_close(fd);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the bus of machine '%s': %m", name);
        *ret = TAKE_PTR(bus);
        return 0;
}
