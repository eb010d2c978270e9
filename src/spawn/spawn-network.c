/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "spawn-network-links.h"
#include "spawn-network.h"

#ifndef BERTH_LIBEXECDIR
#define BERTH_LIBEXECDIR "/usr/libexec/berth"
#endif

static void close_pair(int p[2]) {
        safe_close(p[0]);
        safe_close(p[1]);
}

int network_loopback_up(void) {
        struct ifreq ifr = {};
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return negative_errno();
        if (ifr.ifr_flags & IFF_UP)
                return 0;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        return ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 ? negative_errno() : 0;
}

static uint32_t prefix_mask(unsigned prefixlen) {
        return prefixlen == 0 ? 0 : UINT32_MAX << (32 - prefixlen);
}

int network_pool_parse(const char *s, struct in_addr *ret_base, unsigned *ret_prefixlen) {
        char addr[INET_ADDRSTRLEN];
        struct in_addr a;
        const char *slash = strchr(s, '/');
        char *end;

        if (!slash || (size_t) (slash - s) >= sizeof(addr))
                return -EINVAL;
        memcpy(addr, s, (size_t) (slash - s));
        addr[slash - s] = '\0';
        if (inet_pton(AF_INET, addr, &a) != 1)
                return -EINVAL;
        errno = 0;
        unsigned long plen = strtoul(slash + 1, &end, 10);
        if (errno != 0 || end == slash + 1 || *end != '\0' || plen > NETWORK_SUBNET_PREFIXLEN)
                return -EINVAL;
        if (ntohl(a.s_addr) & ~prefix_mask((unsigned) plen))
                return -EINVAL;
        if (ret_base)
                *ret_base = a;
        if (ret_prefixlen)
                *ret_prefixlen = (unsigned) plen;
        return 0;
}

void network_veth_host_name(const char *machine, char ret[static IFNAMSIZ]) {
        network_ifname_make("ve-", machine, ret);
}

static bool overlaps(uint32_t a, unsigned alen, uint32_t b, unsigned blen) {
        uint32_t m = prefix_mask(MIN(alen, blen));
        return (a & m) == (b & m);
}

int network_pick_subnet(struct in_addr base, unsigned prefixlen, const Route4 *routes, size_t n_routes,
                        struct in_addr *ret_subnet) {
        return network_pick_subnet_sized(base, prefixlen, NETWORK_SUBNET_PREFIXLEN, routes, n_routes, ret_subnet);
}

int network_pick_subnet_sized(struct in_addr base, unsigned prefixlen, unsigned subnet_len, const Route4 *routes,
                              size_t n_routes, struct in_addr *ret_subnet) {
        uint32_t first = ntohl(base.s_addr), count = UINT32_C(1) << (subnet_len - prefixlen);

        for (uint32_t i = 0; i < count; i++) {
                uint32_t net = first + (subnet_len == 32 ? i : i << (32 - subnet_len));
                bool taken = false;

                for (size_t j = 0; j < n_routes && !taken; j++)
                        taken = overlaps(net, subnet_len, ntohl(routes[j].dst.s_addr), routes[j].prefixlen);
                if (!taken) {
                        ret_subnet->s_addr = htonl(net);
                        return 0;
                }
        }
        return -EADDRNOTAVAIL;
}

/* host0's side, through a netlink socket opened in the container's namespace. */
static int network_container_configure(const SpawnNetwork *n, pid_t pid) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;
        char path[64];
        int ifindex, r;

        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
        _cleanup_close_ int netns = open(path, O_RDONLY | O_CLOEXEC);
        if (netns < 0)
                return log_error_errno(errno, "Failed to open the container's network namespace: %m");
        r = netlink_open_in(netns, &nl);
        if (r < 0)
                return log_error_errno(r, "Failed to open netlink in the container's network namespace: %m");
        ifindex = netlink_link_index(nl, "host0");
        if (ifindex < 0)
                return log_error_errno(ifindex, "Failed to find host0 in the container: %m");
        r = netlink_addr4_add(nl, ifindex, n->container_addr, NETWORK_SUBNET_PREFIXLEN);
        if (r >= 0)
                r = netlink_link_up(nl, ifindex);
        if (r >= 0)
                r = netlink_route4_default(nl, ifindex, n->host_addr);
        if (r < 0)
                return log_error_errno(r, "Failed to configure host0 in the container: %m");
        return 0;
}

static int network_pick(Netlink *nl, const char *pool, SpawnNetwork *n) {
        _cleanup_free_ Route4 *routes = NULL;
        struct in_addr base, subnet;
        unsigned plen;
        size_t n_routes = 0;
        int r;

        r = network_pool_parse(pool ?: NETWORK_POOL_DEFAULT, &base, &plen);
        if (r < 0)
                return log_error_errno(r, "Invalid address pool '%s'.", pool);
        r = netlink_route4_dump(nl, &routes, &n_routes);
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's routes: %m");
        r = network_pick_subnet(base, plen, routes, n_routes, &subnet);
        if (r < 0)
                return log_error_errno(r, "No free /%u left in the address pool %s.", NETWORK_SUBNET_PREFIXLEN,
                                       pool ?: NETWORK_POOL_DEFAULT);
        n->host_addr.s_addr = htonl(ntohl(subnet.s_addr) + 1);
        n->container_addr.s_addr = htonl(ntohl(subnet.s_addr) + 2);
        return 0;
}

int network_veth_setup(SpawnNetwork *n, const char *machine, const char *pool, pid_t pid) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;
        int r;

        network_veth_host_name(machine, n->host_ifname);
        r = netlink_open(&nl);
        if (r < 0)
                return log_error_errno(r, "Failed to open netlink: %m");
        /* From reading the routes until ve-NAME's address (and with it the /28's route) exists:
         * two spawns starting at once must not both see the same /28 free. */
        _cleanup_close_ int lock = network_pool_lock();
        if (lock < 0 && lock != -EBADF)
                return log_error_errno(lock, "Failed to lock the address pool: %m");
        r = network_pick(nl, pool, n);
        if (r < 0)
                return r;
        r = netlink_veth_create(nl, n->host_ifname, "host0", pid);
        if (r == -EEXIST)
                return log_error_errno(r, "Interface %s already exists (another container with this name?).", n->host_ifname);
        if (r < 0)
                return log_error_errno(r, "Failed to create the veth pair %s/host0: %m", n->host_ifname);
        r = netlink_link_index(nl, n->host_ifname);
        if (r < 0)
                return log_error_errno(r, "Failed to find %s: %m", n->host_ifname);
        n->host_ifindex = r;
        r = netlink_addr4_add(nl, n->host_ifindex, n->host_addr, NETWORK_SUBNET_PREFIXLEN);
        if (r >= 0)
                r = netlink_link_up(nl, n->host_ifindex);
        lock = safe_close(lock);
        if (r < 0)
                r = log_error_errno(r, "Failed to configure %s: %m", n->host_ifname);
        if (r >= 0)
                r = network_container_configure(n, pid);
        if (r >= 0 && n->nat_pid > 0) {
                struct in_addr net = { htonl(ntohl(n->host_addr.s_addr) & (UINT32_MAX << (32 - NETWORK_SUBNET_PREFIXLEN))) };
                r = network_nat_send_subnet(n, net, NETWORK_SUBNET_PREFIXLEN);
        }
        if (r < 0)
                network_veth_teardown(n);
        return r;
}

/* Next to spawn (a build tree, or an install with both in one directory), else in libexecdir;
 * $BERTH_NAT_HELPER overrides both. */
static int nat_helper_path(char *buf, size_t size) {
        const char *e = getenv("BERTH_NAT_HELPER");
        if (e && *e)
                return snprintf(buf, size, "%s", e) < (int) size ? 0 : -ENAMETOOLONG;
        ssize_t k = readlink("/proc/self/exe", buf, size - 1);
        if (k > 0) {
                buf[k] = '\0';
                char *slash = strrchr(buf, '/');
                if (slash && (size_t) (slash - buf) + sizeof("/spawn-nat") <= size) {
                        strcpy(slash, "/spawn-nat");
                        if (access(buf, X_OK) >= 0)
                                return 0;
                }
        }
        return snprintf(buf, size, "%s/spawn-nat", BERTH_LIBEXECDIR) < (int) size ? 0 : -ENAMETOOLONG;
}

int network_nat_start(SpawnNetwork *n, const char *ifname, const char *outif) {
        char helper[4096];
        int ctl[2], status[2];

        if (nat_helper_path(helper, sizeof(helper)) < 0)
                return log_error_errno(ENAMETOOLONG, "Failed to find spawn-nat.");
        snprintf(n->host_ifname, sizeof(n->host_ifname), "%s", ifname);
        if (pipe2(ctl, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create a pipe: %m");
        if (pipe2(status, O_CLOEXEC) < 0) {
                close_pair(ctl);
                return log_error_errno(errno, "Failed to create a pipe: %m");
        }
        pid_t pid = fork();
        if (pid < 0) {
                close_pair(ctl);
                close_pair(status);
                return log_error_errno(errno, "Failed to fork: %m");
        }
        if (pid == 0) {
                if (dup2(ctl[0], STDIN_FILENO) < 0 || dup2(status[1], STDOUT_FILENO) < 0)
                        _exit(1);
                /* Its own process group: a ^C or a kill of spawn's group must not take it along. */
                (void) setpgid(0, 0);
                /* "-": the subnet follows on stdin once picked (network_nat_send_subnet()). */
                execl(helper, "spawn-nat", n->host_ifname, "-", outif ?: n->host_ifname, (char *) NULL);
                fprintf(stderr, "spawn: Failed to run %s: %s\n", helper, strerror(errno));
                _exit(1);
        }
        safe_close(ctl[0]);
        safe_close(status[1]);
        n->nat_pid = pid;
        n->nat_fd = ctl[1];
        n->nat_status_fd = status[0];
        return 0;
}

int network_nat_send_subnet(SpawnNetwork *n, struct in_addr net, unsigned prefixlen) {
        char line[INET_ADDRSTRLEN + 8], addr[INET_ADDRSTRLEN];

        inet_ntop(AF_INET, &net, addr, sizeof(addr));
        int k = snprintf(line, sizeof(line), "%s/%u\n", addr, prefixlen);
        if (write(n->nat_fd, line, (size_t) k) != k)
                return log_error_errno(errno ?: EIO, "Failed to pass the subnet to spawn-nat: %m");
        return 0;
}

int network_nat_wait(SpawnNetwork *n) {
        char ok[8] = {};
        ssize_t k;

        do
                k = read(n->nat_status_fd, ok, sizeof(ok) - 1);
        while (k < 0 && errno == EINTR);
        n->nat_status_fd = safe_close(n->nat_status_fd);
        if (k < 2 || strncmp(ok, "ok", 2) != 0) {
                network_veth_teardown(n);
                return -EIO; /* spawn-nat said why */
        }
        return 0;
}

void network_veth_teardown(SpawnNetwork *n) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;

        n->nat_status_fd = safe_close(n->nat_status_fd);
        if (n->nat_pid > 0) {
                n->nat_fd = safe_close(n->nat_fd);
                (void) waitpid(n->nat_pid, NULL, 0);
                n->nat_pid = 0;
        }

        if (n->host_ifindex <= 0)
                return;
        /* Gone already when the container's namespace went first: deleting either end deletes both. */
        if (netlink_open(&nl) >= 0)
                (void) netlink_link_delete(nl, n->host_ifindex);
        n->host_ifindex = 0;
}
