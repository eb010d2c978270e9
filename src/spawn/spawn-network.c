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
#include "spawn-port.h"
#include "strv.h"

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

/* "ADDR/LEN" of @family with LEN at most @max_prefixlen and no host bits set, into @ret_base (an
 * in_addr or in6_addr of @size bytes, network order) unless NULL. */
static int pool_parse(const char *s, int family, size_t size, unsigned max_prefixlen, void *ret_base,
                      unsigned *ret_prefixlen) {
        char addr[INET6_ADDRSTRLEN];
        uint8_t a[sizeof(struct in6_addr)];
        const char *slash = strchr(s, '/');
        char *end;

        if (!slash || (size_t) (slash - s) >= sizeof(addr))
                return -EINVAL;
        memcpy(addr, s, (size_t) (slash - s));
        addr[slash - s] = '\0';
        if (inet_pton(family, addr, a) != 1)
                return -EINVAL;
        errno = 0;
        unsigned long plen = strtoul(slash + 1, &end, 10);
        if (errno != 0 || end == slash + 1 || *end != '\0' || plen > max_prefixlen)
                return -EINVAL;
        for (size_t bit = plen; bit < size * 8; bit++)
                if (a[bit / 8] & (0x80 >> (bit % 8)))
                        return -EINVAL;
        if (ret_base)
                memcpy(ret_base, a, size);
        if (ret_prefixlen)
                *ret_prefixlen = (unsigned) plen;
        return 0;
}

int network_pool_parse(const char *s, struct in_addr *ret_base, unsigned *ret_prefixlen) {
        return pool_parse(s, AF_INET, sizeof(*ret_base), NETWORK_SUBNET_PREFIXLEN, ret_base, ret_prefixlen);
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

int network_pool6_parse(const char *s, struct in6_addr *ret_base, unsigned *ret_prefixlen) {
        return pool_parse(s, AF_INET6, sizeof(*ret_base), NETWORK_SUBNET6_PREFIXLEN, ret_base, ret_prefixlen);
}

struct in_addr network_subnet4(const NetworkPools *p, uint32_t index) {
        return (struct in_addr) { htonl(ntohl(p->base4.s_addr) + (index << (32 - NETWORK_SUBNET_PREFIXLEN))) };
}

/* The index goes into bits prefixlen6..63, i.e. it is added to the upper 64 bits. */
void network_subnet6(const NetworkPools *p, uint32_t index, struct in6_addr *ret) {
        uint64_t hi = 0;

        for (int i = 0; i < 8; i++)
                hi = (hi << 8) | p->base6.s6_addr[i];
        hi += index;
        *ret = p->base6;
        for (int i = 7; i >= 0; i--, hi >>= 8)
                ret->s6_addr[i] = (uint8_t) hi;
}

static bool overlaps6(const struct in6_addr *a, const struct in6_addr *b, unsigned plen) {
        for (unsigned bit = 0; bit < plen; bit++) {
                uint8_t m = (uint8_t) (0x80 >> (bit % 8));
                if ((a->s6_addr[bit / 8] & m) != (b->s6_addr[bit / 8] & m))
                        return false;
        }
        return true;
}

int network_pick_index(const NetworkPools *p, const Route4 *routes4, size_t n4, const Route6 *routes6, size_t n6,
                       uint32_t *ret_index) {
        uint32_t count = UINT32_C(1) << (NETWORK_SUBNET_PREFIXLEN - p->prefixlen4);

        if (p->ipv6 && NETWORK_SUBNET6_PREFIXLEN - p->prefixlen6 < 32)
                count = MIN(count, UINT32_C(1) << (NETWORK_SUBNET6_PREFIXLEN - p->prefixlen6));
        for (uint32_t i = 0; i < count; i++) {
                uint32_t net = ntohl(network_subnet4(p, i).s_addr);
                bool taken = false;

                for (size_t j = 0; j < n4 && !taken; j++)
                        taken = overlaps(net, NETWORK_SUBNET_PREFIXLEN, ntohl(routes4[j].dst.s_addr), routes4[j].prefixlen);
                if (p->ipv6) {
                        struct in6_addr net6;
                        network_subnet6(p, i, &net6);
                        for (size_t j = 0; j < n6 && !taken; j++)
                                taken = overlaps6(&net6, &routes6[j].dst, MIN(routes6[j].prefixlen, NETWORK_SUBNET6_PREFIXLEN));
                }
                if (!taken) {
                        *ret_index = i;
                        return 0;
                }
        }
        return -EADDRNOTAVAIL;
}

static struct in6_addr in6_with_last(const struct in6_addr *net, uint8_t last) {
        struct in6_addr a = *net;
        a.s6_addr[15] = last;
        return a;
}

static int container_configure6(Netlink *nl, const SpawnNetwork *n, int ifindex) {
        int r = netlink_addr6_add(nl, ifindex, &n->container_addr6, NETWORK_SUBNET6_PREFIXLEN);
        if (r >= 0)
                r = netlink_route6_default(nl, ifindex, &n->host_addr6);
        return r;
}

/* host0's side, through a netlink socket opened in the container's namespace. */
static int network_container_configure(SpawnNetwork *n, pid_t pid) {
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
        /* dnsmasq reserves host0's address for this MAC. */
        r = netlink_link_mac(nl, ifindex, n->container_mac);
        if (r >= 0 && !n->external) {
                r = netlink_addr4_add(nl, ifindex, n->container_addr, NETWORK_SUBNET_PREFIXLEN);
                if (r >= 0)
                        r = netlink_link_up(nl, ifindex);
                if (r >= 0)
                        r = netlink_route4_default(nl, ifindex, n->host_addr);
                if (r >= 0 && n->ipv6)
                        r = container_configure6(nl, n, ifindex);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to configure host0 in the container: %m");
        return 0;
}

static int network_pick(Netlink *nl, const char *pool, const char *pool6, SpawnNetwork *n) {
        _cleanup_free_ Route4 *routes = NULL;
        _cleanup_free_ Route6 *routes6 = NULL;
        NetworkPools p = {};
        size_t n_routes = 0, n_routes6 = 0;
        uint32_t index;
        int r;

        r = network_pool_parse(pool ?: NETWORK_POOL_DEFAULT, &p.base4, &p.prefixlen4);
        if (r < 0)
                return log_error_errno(r, "Invalid address pool '%s'.", pool);
        r = network_pool6_parse(pool6 ?: NETWORK_POOL6_DEFAULT, &p.base6, &p.prefixlen6);
        if (r < 0)
                return log_error_errno(r, "Invalid address pool '%s'.", pool6);
        r = netlink_route4_dump(nl, &routes, &n_routes);
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's routes: %m");
        /* A host without IPv6 (disabled, or a kernel without it) gets an IPv4-only container. */
        p.ipv6 = access("/proc/sys/net/ipv6", F_OK) >= 0 && netlink_route6_dump(nl, &routes6, &n_routes6) >= 0;
        r = network_pick_index(&p, routes, n_routes, routes6, n_routes6, &index);
        if (r < 0)
                return log_error_errno(r, "No free /%u left in the address pool %s.", NETWORK_SUBNET_PREFIXLEN,
                                       pool ?: NETWORK_POOL_DEFAULT);
        struct in_addr subnet = network_subnet4(&p, index);
        n->host_addr.s_addr = htonl(ntohl(subnet.s_addr) + 1);
        n->container_addr.s_addr = htonl(ntohl(subnet.s_addr) + 2);
        n->ipv6 = p.ipv6;
        if (p.ipv6) {
                struct in6_addr net6;
                network_subnet6(&p, index, &net6);
                n->host_addr6 = in6_with_last(&net6, 1);
                n->container_addr6 = in6_with_last(&net6, 2);
        }
        return 0;
}

int network_veth_prepare(SpawnNetwork *n, const char *machine, const char *pool, const char *pool6) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;
        int r;

        /* spawn-nat may be running already (network_nat_start()): keep its fields. */
        network_veth_host_name(machine, n->host_ifname);
        n->external = network_networkd_running();
        if (n->external)
                return 0;
        r = netlink_open(&nl);
        if (r < 0)
                return log_error_errno(r, "Failed to open netlink: %m");
        /* From reading the routes until ve-NAME's addresses (and with them the subnets' routes)
         * exist: two spawns starting at once must not both see the same subnets free. */
        n->pool_lock = network_pool_lock();
        if (n->pool_lock < 0 && n->pool_lock != -EBADF)
                return log_error_errno(n->pool_lock, "Failed to lock the address pool: %m");
        return network_pick(nl, pool, pool6, n);
}

const char *network_nameserver(const SpawnNetwork *n, char buf[static INET_ADDRSTRLEN]) {
        if (n->external || !network_dhcp_available())
                return NULL;
        return inet_ntop(AF_INET, &n->host_addr, buf, INET_ADDRSTRLEN);
}

int network_veth_host0_create(Netlink *nl, const char *host_ifname, pid_t pid) {
        int r = netlink_veth_create(nl, host_ifname, "host0", pid);
        if (r == -EEXIST)
                return log_error_errno(r, "Interface %s already exists (another container with this name?).", host_ifname);
        if (r < 0)
                return log_error_errno(r, "Failed to create the veth pair %s/host0: %m", host_ifname);
        r = netlink_link_index(nl, host_ifname);
        if (r < 0)
                return log_error_errno(r, "Failed to find %s: %m", host_ifname);
        return r;
}

static int host_side_configure(SpawnNetwork *n, pid_t pid) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;
        int r = netlink_open(&nl);

        if (r < 0)
                return log_error_errno(r, "Failed to open netlink: %m");
        r = network_veth_host0_create(nl, n->host_ifname, pid);
        if (r < 0)
                return r;
        n->host_ifindex = r;
        if (n->external)
                return 0;
        r = netlink_addr4_add(nl, n->host_ifindex, n->host_addr, NETWORK_SUBNET_PREFIXLEN);
        if (r >= 0 && n->ipv6)
                r = netlink_addr6_add(nl, n->host_ifindex, &n->host_addr6, NETWORK_SUBNET6_PREFIXLEN);
        if (r >= 0)
                r = netlink_link_up(nl, n->host_ifindex);
        n->pool_lock = safe_close(n->pool_lock);
        if (r < 0)
                return log_error_errno(r, "Failed to configure %s: %m", n->host_ifname);
        return 0;
}

/* spawn-nat's line: the IPv4 subnet, then the options it also takes on its command line. */
static int nat_line(const SpawnNetwork *n, struct in_addr net, unsigned prefixlen, const PortForward *ports,
                    size_t n_ports, char **ret) {
        char addr[INET6_ADDRSTRLEN], port[24];
        char *line = NULL;
        size_t size = 0;

        FILE *f = open_memstream(&line, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s/%u", inet_ntop(AF_INET, &net, addr, sizeof(addr)), prefixlen);
        fprintf(f, " -a %s", inet_ntop(AF_INET, &n->container_addr, addr, sizeof(addr)));
        if (n->ipv6) {
                struct in6_addr net6 = in6_with_last(&n->host_addr6, 0);
                fprintf(f, " -6 %s/%u", inet_ntop(AF_INET6, &net6, addr, sizeof(addr)), NETWORK_SUBNET6_PREFIXLEN);
                fprintf(f, " -A %s", inet_ntop(AF_INET6, &n->container_addr6, addr, sizeof(addr)));
        }
        for (size_t i = 0; i < n_ports; i++) {
                port_forward_format(&ports[i], port);
                fprintf(f, " -p %s", port);
        }
        fputc('\n', f);
        if (fclose(f) != 0) {
                free(line);
                return -ENOMEM;
        }
        *ret = line;
        return 0;
}

int network_nat_send_subnet(SpawnNetwork *n, struct in_addr net, unsigned prefixlen, const PortForward *ports,
                            size_t n_ports) {
        _cleanup_free_ char *line = NULL;

        if (nat_line(n, net, prefixlen, ports, n_ports, &line) < 0)
                return log_oom();
        if (write(n->nat_fd, line, strlen(line)) != (ssize_t) strlen(line))
                return log_error_errno(errno ?: EIO, "Failed to pass the subnets to spawn-nat: %m");
        return 0;
}

static int nat_send_veth(SpawnNetwork *n, const PortForward *ports, size_t n_ports) {
        if (n->nat_pid <= 0)
                return 0;
        if (n->external) {
                /* systemd-networkd's IPMasquerade= does it. "-" says so (EOF would not come: the
                 * container's child holds the pipe too until its exec). */
                (void) !write(n->nat_fd, "-\n", 2);
                n->nat_fd = safe_close(n->nat_fd);
                n->nat_status_fd = safe_close(n->nat_status_fd);
                (void) waitpid(n->nat_pid, NULL, 0);
                n->nat_pid = 0;
                return 0;
        }
        struct in_addr net = { htonl(ntohl(n->host_addr.s_addr) & (UINT32_MAX << (32 - NETWORK_SUBNET_PREFIXLEN))) };
        return network_nat_send_subnet(n, net, NETWORK_SUBNET_PREFIXLEN, ports, n_ports);
}

int network_veth_setup(SpawnNetwork *n, pid_t pid, const PortForward *ports, size_t n_ports) {
        int r = host_side_configure(n, pid);
        if (r >= 0)
                r = network_container_configure(n, pid);
        if (r >= 0)
                r = nat_send_veth(n, ports, n_ports);
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

int network_nat_wait(SpawnNetwork *n) {
        char ok[8] = {};
        ssize_t k;

        if (n->nat_pid <= 0)
                return 0;
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

        n->pool_lock = safe_close(n->pool_lock);
        network_dhcp_stop(n);
        n->nat_status_fd = safe_close(n->nat_status_fd);
        if (n->nat_pid > 0) {
                /* On a failure before the subnets were passed, the container's child (not yet
                 * exec'd) still holds the pipe, so no EOF would come: "-" says there is nothing to
                 * do. After the line it is read and ignored. (SIGPIPE is ignored: EPIPE if gone.) */
                (void) !write(n->nat_fd, "-\n", 2);
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
