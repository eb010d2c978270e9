/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts about a running machine, read from its leader's namespaces. Everything found there is
 * controlled by the guest: files are opened inside its root (openat2 RESOLVE_IN_ROOT), must be
 * regular and small, and anything that needs to enter a namespace does so in a forked child. */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "machine.h"
#include "macro.h"
#include "os-release.h"
#include "process-util.h"

#define ADDRESSES_MAX 1024

/* An O_PATH fd of the leader's root directory, valid only if the leader still runs afterwards
 * (otherwise the PID may have been recycled between looking it up and opening). */
static int machine_open_root(Machine *m) {
        char path[64];

        snprintf(path, sizeof(path), "/proc/%i/root", (int) m->leader.pid);
        _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        if (pidref_is_alive(&m->leader) <= 0)
                return -ESRCH;
        return TAKE_FD(fd);
}

int machine_get_os_release(Machine *m, char ***ret) {
        if (m->class == MACHINE_VM)
                return -EOPNOTSUPP;
        if (m->class == MACHINE_HOST) {
                _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root < 0)
                        return negative_errno();
                return os_release_parse(root, ret);
        }
        if (!pidref_is_set(&m->leader))
                return -ENOENT; /* registered without a leader: no tree to read it from */
        _cleanup_close_ int root = machine_open_root(m);
        if (root < 0)
                return root;
        return os_release_parse(root, ret);
}

static int machine_shares_namespace(Machine *m, const char *ns) {
        uint64_t ours, theirs;
        int r = namespace_inode(0, ns, &ours);
        if (r < 0)
                return r;
        r = namespace_inode(m->leader.pid, ns, &theirs);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        if (pidref_is_alive(&m->leader) <= 0)
                return -ESRCH;
        return ours == theirs;
}

/* One "inside outside count" line; the guest cannot write its own maps, only its creator can. */
static int read_id_map(pid_t pid, const char *which, unsigned long *ret_inner, unsigned long *ret_outer,
                       unsigned long *ret_count, int *ret_lines) {
        char path[64], line[256];
        int lines = 0;

        snprintf(path, sizeof(path), "/proc/%i/%s", (int) pid, which);
        FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : negative_errno();
        while (fgets(line, sizeof(line), f)) {
                unsigned long a, b, c;
                if (sscanf(line, "%lu %lu %lu", &a, &b, &c) != 3)
                        continue;
                if (lines++ == 0) {
                        *ret_inner = a;
                        *ret_outer = b;
                        *ret_count = c;
                }
        }
        fclose(f);
        *ret_lines = lines;
        return lines > 0 ? 0 : -ENXIO;
}

int machine_get_uid_shift(Machine *m, uid_t *ret) {
        unsigned long ui, uo, uc, gi, go, gc;
        int ul, gl, r;

        if (m->class == MACHINE_HOST) {
                *ret = 0;
                return 0;
        }
        if (m->class == MACHINE_VM)
                return -EOPNOTSUPP;
        r = machine_shares_namespace(m, "user");
        if (r < 0)
                return r;
        if (r > 0) {
                *ret = 0;
                return 0;
        }
        r = read_id_map(m->leader.pid, "uid_map", &ui, &uo, &uc, &ul);
        if (r < 0)
                return r;
        r = read_id_map(m->leader.pid, "gid_map", &gi, &go, &gc, &gl);
        if (r < 0)
                return r;
        /* Only "0 SHIFT RANGE" with identical UID and GID maps is a shift machinectl can show. */
        if (ul != 1 || gl != 1 || ui != 0 || gi != 0 || uo != go || uc != gc)
                return -ENXIO;
        *ret = (uid_t) uo;
        return 0;
}

/* Runs in a forked child, still in all of machined's namespaces but the network one it is about
 * to join; writes MachineAddress records to fd and exits. */
static _noreturn_ void addresses_child(int netns_fd, int fd) {
        struct ifaddrs *ifa = NULL;

        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                _exit(EXIT_FAILURE);
        if (getifaddrs(&ifa) < 0)
                _exit(EXIT_FAILURE);
        size_t n = 0;
        for (struct ifaddrs *i = ifa; i && n < ADDRESSES_MAX; i = i->ifa_next) {
                MachineAddress a = {};
                if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
                        continue;
                a.family = i->ifa_addr->sa_family;
                if (a.family == AF_INET)
                        memcpy(a.address, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, 4);
                else if (a.family == AF_INET6)
                        memcpy(a.address, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, 16);
                else
                        continue;
                a.ifindex = (int) if_nametoindex(i->ifa_name);
                if (loop_write(fd, &a, sizeof(a)) < 0)
                        _exit(EXIT_FAILURE);
                n++;
        }
        _exit(EXIT_SUCCESS);
}

static int addresses_collect(int netns_fd, MachineAddress **ret, size_t *ret_n) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        _cleanup_free_ MachineAddress *l = NULL;
        size_t n = 0;

        if (pipe2(pair, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                safe_close(pair[0]);
                addresses_child(netns_fd, pair[1]);
        }
        pair[1] = safe_close(pair[1]);

        l = calloc(ADDRESSES_MAX, sizeof(MachineAddress));
        int r = l ? 0 : -ENOMEM;
        size_t got = 0;
        /* The child only talks to the kernel, but bound the wait anyway: machined must not hang. */
        while (r == 0) {
                struct pollfd p = { .fd = pair[0], .events = POLLIN };
                int k = poll(&p, 1, 5000);
                if (k == 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                ssize_t s = read(pair[0], (char *) l + got, ADDRESSES_MAX * sizeof(MachineAddress) - got);
                if (s < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (s == 0)
                        break;
                got += (size_t) s;
                if (got == ADDRESSES_MAX * sizeof(MachineAddress))
                        break;
        }
        if (r < 0)
                (void) kill(pid, SIGKILL);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EIO;
        n = got / sizeof(MachineAddress);
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

int machine_get_addresses(Machine *m, MachineAddress **ret, size_t *ret_n) {
        char path[64];
        int r;

        if (m->class == MACHINE_HOST)
                return addresses_collect(-EBADF, ret, ret_n);
        if (m->class == MACHINE_VM)
                return -EOPNOTSUPP;
        r = machine_shares_namespace(m, "net");
        if (r < 0)
                return r;
        if (r > 0)
                return -ENONET;

        snprintf(path, sizeof(path), "/proc/%i/ns/net", (int) m->leader.pid);
        _cleanup_close_ int netns = open(path, O_RDONLY | O_CLOEXEC);
        if (netns < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        if (pidref_is_alive(&m->leader) <= 0)
                return -ESRCH;
        return addresses_collect(netns, ret, ret_n);
}

int machine_open_root_directory(Machine *m) {
        if (m->class == MACHINE_VM)
                return -EOPNOTSUPP;
        if (m->class == MACHINE_HOST) {
                int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                return fd < 0 ? negative_errno() : fd;
        }
        if (!pidref_is_set(&m->leader))
                return -ENOENT;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%i/root", (int) m->leader.pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        /* Opened by PID: only the machine's if that PID is still its leader. */
        if (pidref_is_alive(&m->leader) <= 0)
                return -ESRCH;
        return TAKE_FD(fd);
}
