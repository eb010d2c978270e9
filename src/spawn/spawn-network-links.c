/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The link options besides -n (see spawn-network-links.h), and the process that undoes them. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "spawn-netlink.h"
#include "spawn-network-links.h"
#include "spawn-network.h"
#include "spawn-options.h"
#include "strv.h"

/* A zone's bridge takes a /24 of the pool (or the whole pool when that is smaller): room for 253
 * containers, each claiming one address. */
#define ZONE_PREFIXLEN 24u

void network_link_options_done(NetworkLinkOptions *o) {
        free(o->bridge);
        free(o->zone);
        strv_free(o->veth_extra);
        strv_free(o->macvlan);
        strv_free(o->ipvlan);
        strv_free(o->interfaces);
        free(o->netns_path);
        *o = (NetworkLinkOptions) {};
}

bool network_ifname_valid(const char *s) {
        if (!s || !*s || strlen(s) >= IFNAMSIZ || streq(s, ".") || streq(s, ".."))
                return false;
        for (; *s; s++)
                if (*s == '/' || *s == ':' || *s == '%' || (unsigned char) *s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

/* FNV-1a, 64 bits folded to 32: not secret, only spread. */
static uint32_t name_hash(const char *s) {
        uint64_t h = UINT64_C(14695981039346656037);
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * UINT64_C(1099511628211);
        return (uint32_t) (h ^ (h >> 32));
}

void network_ifname_make(const char *prefix, const char *name, char ret[static IFNAMSIZ]) {
        char full[256 + 8];

        snprintf(full, sizeof(full), "%s%s", prefix, name);
        if (strlen(full) < IFNAMSIZ) {
                memcpy(ret, full, strlen(full) + 1);
                return;
        }
        snprintf(ret, IFNAMSIZ, "%.7s%08x", full, name_hash(full));
}

static int parse_ifname_list(char ***l, const char *what, const char *arg) {
        if (!network_ifname_valid(arg))
                return log_error_errno(EINVAL, "Invalid %s interface name '%s'.", what, arg);
        return strv_extend(l, arg) < 0 ? log_oom() : 0;
}

/* HOST[:CONTAINER], kept as "HOST:CONTAINER" (CONTAINER defaults to HOST). */
static int parse_ifname_pair(char ***l, const char *option, const char *arg) {
        const char *colon = strchr(arg, ':');
        char host[IFNAMSIZ + 1] = {}, pair[2 * IFNAMSIZ + 2];
        const char *inner = colon ? colon + 1 : arg;
        size_t hl = colon ? (size_t) (colon - arg) : strlen(arg);

        if (hl < sizeof(host))
                memcpy(host, arg, hl);
        if (hl >= sizeof(host) || !network_ifname_valid(host) || !network_ifname_valid(inner) || streq(inner, "host0"))
                return log_error_errno(EINVAL, "Invalid %s '%s': want HOST[:CONTAINER] interface names.", option, arg);
        snprintf(pair, sizeof(pair), "%s:%s", host, inner);
        return strv_extend(l, pair) < 0 ? log_oom() : 0;
}

int network_links_parse_option(NetworkLinkOptions *o, int id, const char *arg) {
        char zone[IFNAMSIZ + 8];

        switch (id) {
        case ARG_NETWORK_BRIDGE:
                if (!network_ifname_valid(arg))
                        return log_error_errno(EINVAL, "Invalid bridge name '%s'.", arg);
                return strdup_to(&o->bridge, arg);
        case ARG_NETWORK_ZONE:
                /* As nspawn: vz-NAME must be a valid interface name as it is, never shortened, so
                 * every container naming the zone finds the same bridge. */
                snprintf(zone, sizeof(zone), "vz-%s", arg);
                if (isempty(arg) || !network_ifname_valid(zone))
                        return log_error_errno(EINVAL, "Invalid zone name '%s' (at most %d characters, no '/', ':' or space).",
                                               arg, IFNAMSIZ - 1 - 3);
                return strdup_to(&o->zone, arg);
        case ARG_NETWORK_VETH_EXTRA:
                return parse_ifname_pair(&o->veth_extra, "--network-veth-extra=", arg);
        case ARG_NETWORK_MACVLAN:
                return parse_ifname_list(&o->macvlan, "macvlan parent", arg);
        case ARG_NETWORK_IPVLAN:
                return parse_ifname_list(&o->ipvlan, "ipvlan parent", arg);
        case ARG_NETWORK_INTERFACE:
                /* HOST:CONTAINER renames it inside, as nspawn ≥ 254 does. */
                return parse_ifname_pair(&o->interfaces, "--network-interface=", arg);
        case ARG_NETWORK_NAMESPACE_PATH:
                if (isempty(arg) || arg[0] != '/')
                        return log_error_errno(EINVAL, "Network namespace path must be absolute: '%s'.", arg);
                return strdup_to(&o->netns_path, arg);
        }
        return log_error_errno(EINVAL, "Unhandled option.");
}

bool network_link_options_private(const NetworkLinkOptions *o) {
        return o->bridge || o->zone || o->veth_extra || o->macvlan || o->ipvlan || o->interfaces;
}

bool network_link_options_any(const NetworkLinkOptions *o) {
        return network_link_options_private(o) || o->netns_path;
}

int network_link_options_verify(const NetworkLinkOptions *o, bool private_network) {
        if (o->bridge && o->zone)
                return log_error_errno(EINVAL, "--network-bridge= and --network-zone= are mutually exclusive.");
        if (o->netns_path) {
                if (private_network || network_link_options_private(o))
                        return log_error_errno(EINVAL, "--network-namespace-path= cannot be combined with other network options.");
                _cleanup_close_ int fd = open(o->netns_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return log_error_errno(errno, "Failed to open network namespace %s: %m", o->netns_path);
                /* setns() with the type given checks it is a network namespace, and our own
                 * namespace is not changed when it is not: -EINVAL tells us. */
                _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                if (self < 0)
                        return log_error_errno(errno, "Failed to open our network namespace: %m");
                if (setns(fd, CLONE_NEWNET) < 0)
                        return log_error_errno(errno, "%s is not a network namespace.", o->netns_path);
                if (setns(self, CLONE_NEWNET) < 0)
                        abort();
        }
        return 0;
}

static int lock_file(const char *path, bool wait) {
        if (mkdir("/run/berth", 0755) < 0 && errno != EEXIST)
                return negative_errno();
        if (mkdir(NETWORK_LOCK_DIR, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
                if (errno == EINTR)
                        continue;
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        return fd;
}

int network_pool_lock(void) {
        int fd = lock_file(NETWORK_LOCK_DIR "/pool.lock", true);
        /* A read-only /run (a sandboxed host) has no room for the lock: go without, as before
         * there was one; only starts in the same instant can then pick the same subnet. */
        if (fd == -EROFS || fd == -EACCES || fd == -EPERM)
                return -EBADF;
        return fd;
}

static int zone_lock(const char *zone_ifname) {
        char path[sizeof(NETWORK_LOCK_DIR) + IFNAMSIZ + 16];
        snprintf(path, sizeof(path), "%s/%s.lock", NETWORK_LOCK_DIR, zone_ifname);
        return lock_file(path, true);
}

/* A zone member's address: the first of the subnet whose claim file nobody holds locked. The
 * lock goes with the fd, so a SIGKILLed spawn frees its address with its container. */
static int zone_claim_address(const char *zone_ifname, struct in_addr subnet, unsigned plen, struct in_addr *ret) {
        char dir[sizeof(NETWORK_LOCK_DIR) + IFNAMSIZ + 16], path[sizeof(dir) + INET_ADDRSTRLEN + 1];
        uint32_t first = ntohl(subnet.s_addr), size = UINT32_C(1) << (32 - plen);

        snprintf(dir, sizeof(dir), "%s/%s", NETWORK_LOCK_DIR, zone_ifname);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        /* .1 is the bridge's; the last is the broadcast address. */
        for (uint32_t i = 2; i + 1 < size; i++) {
                struct in_addr a = { htonl(first + i) };
                char s[INET_ADDRSTRLEN];

                inet_ntop(AF_INET, &a, s, sizeof(s));
                snprintf(path, sizeof(path), "%s/%s", dir, s);
                int fd = lock_file(path, false);
                if (fd == -EWOULDBLOCK)
                        continue;
                if (fd >= 0)
                        *ret = a;
                return fd;
        }
        return -EADDRNOTAVAIL;
}

/* With the zone's lock held and no member left, nobody holds a claim: the claim files go with the
 * bridge (the lock file stays: unlinking a file others may wait to flock races with them). */
static void zone_claims_remove(const char *zone_ifname) {
        char dir[sizeof(NETWORK_LOCK_DIR) + IFNAMSIZ + 16];
        struct dirent *de;

        snprintf(dir, sizeof(dir), "%s/%s", NETWORK_LOCK_DIR, zone_ifname);
        DIR *d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        (void) rmdir(dir);
}

/* The zone's bridge, made with the first free subnet of the pool and its first address when it
 * does not exist yet. Called with the zone's lock held. */
static int zone_bridge_get(Netlink *nl, const char *ifname, const char *pool, struct in_addr *ret_subnet,
                           unsigned *ret_plen, bool *ret_created) {
        _cleanup_free_ Route4 *routes = NULL;
        struct in_addr base, addr;
        unsigned plen;
        size_t n_routes = 0;
        int ifindex, r;

        *ret_created = false;
        ifindex = netlink_link_index(nl, ifname);
        if (ifindex > 0) {
                r = netlink_addr4_first(nl, ifindex, &addr, &plen);
                if (r < 0 || plen > 30)
                        return log_error_errno(r < 0 ? r : EADDRNOTAVAIL, "Zone bridge %s has no IPv4 subnet to address its members from.", ifname);
                ret_subnet->s_addr = htonl(ntohl(addr.s_addr) & (UINT32_MAX << (32 - plen)));
                *ret_plen = plen;
                return ifindex;
        }

        r = network_pool_parse(pool ?: NETWORK_POOL_DEFAULT, &base, &plen);
        if (r < 0)
                return log_error_errno(r, "Invalid address pool '%s'.", pool);
        unsigned zlen = MAX(plen, ZONE_PREFIXLEN);
        _cleanup_close_ int lock = network_pool_lock();
        if (lock < 0 && lock != -EBADF)
                return log_error_errno(lock, "Failed to lock the address pool: %m");
        r = netlink_route4_dump(nl, &routes, &n_routes);
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's routes: %m");
        r = network_pick_subnet_sized(base, plen, zlen, routes, n_routes, ret_subnet);
        if (r < 0)
                return log_error_errno(r, "No free /%u left in the address pool %s for zone %s.", zlen,
                                       pool ?: NETWORK_POOL_DEFAULT, ifname);
        r = netlink_bridge_create(nl, ifname);
        if (r < 0)
                return log_error_errno(r, "Failed to create bridge %s: %m", ifname);
        *ret_created = true;
        ifindex = netlink_link_index(nl, ifname);
        if (ifindex < 0)
                return log_error_errno(ifindex, "Failed to find %s: %m", ifname);
        addr.s_addr = htonl(ntohl(ret_subnet->s_addr) + 1);
        r = netlink_addr4_add(nl, ifindex, addr, zlen);
        if (r >= 0)
                r = netlink_link_up(nl, ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to configure bridge %s: %m", ifname);
        *ret_plen = zlen;
        return ifindex;
}

/* host0 in the container: up, and for a zone member addressed with a default route via the
 * bridge. */
static int container_host0_configure(int netns_fd, const struct in_addr *addr, unsigned plen, struct in_addr gw) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;
        int r = netlink_open_in(netns_fd, &nl);
        if (r < 0)
                return log_error_errno(r, "Failed to open netlink in the container's network namespace: %m");
        int ifindex = netlink_link_index(nl, "host0");
        if (ifindex < 0)
                return log_error_errno(ifindex, "Failed to find host0 in the container: %m");
        r = addr ? netlink_addr4_add(nl, ifindex, *addr, plen) : 0;
        if (r >= 0)
                r = netlink_link_up(nl, ifindex);
        if (r >= 0 && addr)
                r = netlink_route4_default(nl, ifindex, gw);
        if (r < 0)
                return log_error_errno(r, "Failed to configure host0 in the container: %m");
        return 0;
}

/* vb-NAME/host0 joined to @bridge_ifindex. */
static int links_bridge_member(NetworkLinks *l, Netlink *nl, const char *machine, const char *bridge, int bridge_ifindex,
                               pid_t pid) {
        int r;

        network_ifname_make("vb-", machine, l->host_ifname);
        r = network_veth_host0_create(nl, l->host_ifname, pid);
        if (r < 0)
                return r;
        l->host_ifindex = r;
        r = netlink_link_set_master(nl, l->host_ifindex, bridge_ifindex);
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "Interface %s is not a bridge.", bridge);
        if (r >= 0)
                r = netlink_link_up(nl, l->host_ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to add %s to its bridge: %m", l->host_ifname);
        return 0;
}

/* The member's address is the zone's claim: its masquerading (ADDR/32) and --port's forwards to it
 * go on its spawn-nat's line. Zones are IPv4-only: spawn-nat forwards the host's IPv4 addresses
 * (127.0.0.1 too) by DNAT, and relays TCP from [::1] to the IPv4 address. */
static int links_zone_join(NetworkLinks *l, Netlink *nl, const char *zone, const char *machine, const char *pool,
                           const PortForward *ports, size_t n_ports, pid_t pid) {
        struct in_addr subnet = {}, addr, gw;
        unsigned plen = 0;
        bool created;
        int r;

        snprintf(l->zone_ifname, sizeof(l->zone_ifname), "vz-%s", zone);
        _cleanup_close_ int lock = zone_lock(l->zone_ifname);
        if (lock < 0)
                return log_error_errno(lock, "Failed to lock zone %s: %m", zone);
        int bridge = zone_bridge_get(nl, l->zone_ifname, pool, &subnet, &plen, &created);
        if (bridge < 0) {
                if (!created)
                        l->zone_ifname[0] = '\0'; /* not ours to remove */
                return bridge;
        }
        r = zone_claim_address(l->zone_ifname, subnet, plen, &addr);
        if (r < 0)
                return log_error_errno(r, "No free address left in zone %s: %m", zone);
        l->claim_fd = r;
        r = links_bridge_member(l, nl, machine, l->zone_ifname, bridge, pid);
        if (r < 0)
                return r;
        lock = safe_close(lock);
        gw.s_addr = htonl(ntohl(subnet.s_addr) + 1);
        r = container_host0_configure(l->netns_fd, &addr, plen, gw);
        if (r >= 0 && l->nat.nat_pid > 0) {
                l->nat.container_addr = addr;
                r = network_nat_send_subnet(&l->nat, addr, 32, ports, n_ports);
        }
        return r;
}

int network_links_nat_start(NetworkLinks *l, const NetworkLinkOptions *o, const char *machine) {
        char ifname[IFNAMSIZ], zone[IFNAMSIZ];

        if (!o->zone)
                return 0;
        network_ifname_make("vb-", machine, ifname);
        snprintf(zone, sizeof(zone), "vz-%s", o->zone);
        return network_nat_start(&l->nat, ifname, zone);
}

int network_links_nat_wait(NetworkLinks *l) {
        return l->nat.nat_pid > 0 ? network_nat_wait(&l->nat) : 0;
}

static int links_bridge_join(NetworkLinks *l, Netlink *nl, const char *bridge, const char *machine, pid_t pid) {
        int ifindex = netlink_link_index(nl, bridge);
        if (ifindex == -ENODEV)
                return log_error_errno(ifindex, "Bridge %s does not exist.", bridge);
        if (ifindex < 0)
                return log_error_errno(ifindex, "Failed to find bridge %s: %m", bridge);
        int r = links_bridge_member(l, nl, machine, bridge, ifindex, pid);
        if (r < 0)
                return r;
        /* The bridge's network addresses the guest (its DHCP server, or the guest's own
         * configuration): berth does not know that network's plan. */
        return container_host0_configure(l->netns_fd, NULL, 0, (struct in_addr) {});
}

static int links_veth_extra(NetworkLinks *l, Netlink *nl, char **pairs, pid_t pid) {
        for (char **p = pairs; p && *p; p++) {
                char host[IFNAMSIZ];
                const char *colon = strchr(*p, ':');

                snprintf(host, sizeof(host), "%.*s", (int) (colon - *p), *p);
                int r = netlink_veth_create(nl, host, colon + 1, pid);
                if (r == -EEXIST)
                        return log_error_errno(r, "Interface %s already exists.", host);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the veth pair %s/%s: %m", host, colon + 1);
                int *a = realloc(l->extra_ifindex, (l->n_extra + 1) * sizeof(int));
                if (!a)
                        return log_oom();
                l->extra_ifindex = a;
                r = netlink_link_index(nl, host);
                if (r < 0)
                        return log_error_errno(r, "Failed to find %s: %m", host);
                l->extra_ifindex[l->n_extra++] = r;
        }
        return 0;
}

/* macvlan mv-IF / ipvlan iv-IF, made directly in the container's namespace: they die with it. */
static int links_sublinks(Netlink *nl, const char *kind, const char *prefix, char **parents, pid_t pid) {
        for (char **p = parents; p && *p; p++) {
                char name[IFNAMSIZ];
                int parent = netlink_link_index(nl, *p);
                if (parent == -ENODEV)
                        return log_error_errno(parent, "Interface %s does not exist.", *p);
                if (parent < 0)
                        return log_error_errno(parent, "Failed to find %s: %m", *p);
                network_ifname_make(prefix, *p, name);
                int r = netlink_sublink_create(nl, kind, name, parent, pid);
                if (r == -EOPNOTSUPP)
                        return log_error_errno(r, "Failed to create %s %s on %s: this kernel has no %s driver.", kind, name, *p, kind);
                if (r < 0)
                        return log_error_errno(r, "Failed to create %s %s on %s: %m", kind, name, *p);
        }
        return 0;
}

static int links_move_in(NetworkLinks *l, Netlink *nl, char **interfaces, pid_t pid) {
        for (char **i = interfaces; i && *i; i++) {
                char host[IFNAMSIZ];
                const char *inner = strchr(*i, ':') + 1;

                snprintf(host, sizeof(host), "%.*s", (int) (inner - 1 - *i), *i);
                int ifindex = netlink_link_index(nl, host);
                if (ifindex == -ENODEV)
                        return log_error_errno(ifindex, "Interface %s does not exist in the host's network namespace.", host);
                if (ifindex < 0)
                        return log_error_errno(ifindex, "Failed to find %s: %m", host);
                int r = netlink_link_move(nl, ifindex, pid, -1, streq(host, inner) ? NULL : inner);
                if (r < 0)
                        return log_error_errno(r, "Failed to move %s into the container: %m", host);
                if (strv_extend(&l->moved, *i) < 0)
                        return log_oom();
        }
        return 0;
}

/* Undoes the setup, in this order: the moved interfaces back (while the container's namespace
 * still exists: we hold it open), then a byte on @moved_fd (if >= 0), the host ends, the zone's
 * bridge if it has no member left. Best effort, never logs: it runs in the cleanup process too. */
static void links_release(NetworkLinks *l, int moved_fd) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;
        _cleanup_(netlink_closep) Netlink *inner = NULL;

        if (l->moved && l->netns_fd >= 0 && netlink_open_in(l->netns_fd, &inner) >= 0) {
                _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                for (char **i = l->moved; self >= 0 && *i; i++) {
                        char host[IFNAMSIZ];
                        const char *name = strchr(*i, ':') + 1;

                        snprintf(host, sizeof(host), "%.*s", (int) (name - 1 - *i), *i);
                        /* By its name in the container, back under its own. */
                        int ifindex = netlink_link_index(inner, name);
                        if (ifindex > 0)
                                (void) netlink_link_move(inner, ifindex, 0, self, streq(host, name) ? NULL : host);
                }
        }
        l->netns_fd = safe_close(l->netns_fd);
        if (moved_fd >= 0)
                (void) !write(moved_fd, "M", 1);
        l->claim_fd = safe_close(l->claim_fd);
        if ((l->host_ifindex <= 0 && l->n_extra == 0 && !l->zone_ifname[0]) || netlink_open(&nl) < 0)
                return;
        /* Deleting our end deletes the pair, at once: the namespace's own teardown is
         * asynchronous. */
        if (l->host_ifindex > 0)
                (void) netlink_link_delete(nl, l->host_ifindex);
        for (size_t i = 0; i < l->n_extra; i++)
                (void) netlink_link_delete(nl, l->extra_ifindex[i]);
        l->host_ifindex = 0;
        l->n_extra = 0;
        if (l->zone_ifname[0]) {
                _cleanup_close_ int lock = zone_lock(l->zone_ifname);
                int bridge = netlink_link_index(nl, l->zone_ifname);
                if (lock >= 0 && bridge > 0 && netlink_link_count_members(nl, bridge) == 0) {
                        (void) netlink_link_delete(nl, bridge);
                        zone_claims_remove(l->zone_ifname);
                }
                l->zone_ifname[0] = '\0';
        }
}

/* The cleanup process of the previous container, released without waiting (--restart-on-reboot
 * reaps it here). */
static pid_t released_cleanup = 0;

/* A forked process that holds the container's network namespace and undoes the setup when its
 * pipe closes: when spawn tears down, or is SIGKILLed. Holding the namespace keeps even virtual
 * interfaces moved in (which the kernel would destroy with the namespace) to move back. */
static int links_cleanup_start(NetworkLinks *l) {
        int pipefd[2], donefd[2];

        if (released_cleanup > 0) {
                while (waitpid(released_cleanup, NULL, 0) < 0 && errno == EINTR)
                        ;
                released_cleanup = 0;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create a pipe: %m");
        if (pipe2(donefd, O_CLOEXEC) < 0) {
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return log_error_errno(errno, "Failed to create a pipe: %m");
        }
        pid_t pid = fork();
        if (pid < 0) {
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                safe_close(donefd[0]);
                safe_close(donefd[1]);
                return log_error_errno(errno, "Failed to fork the network cleanup process: %m");
        }
        if (pid == 0) {
                char c;
                /* Nothing of the supervisor's stays open: a reader of spawn's stdout must not
                 * wait for us. */
                /* Above 5 first: one of them may be 3, 4 or 5 itself. */
                int in = fcntl(pipefd[0], F_DUPFD, 6), ns = fcntl(l->netns_fd, F_DUPFD, 6), done = fcntl(donefd[1], F_DUPFD, 6);
                if (in < 0 || ns < 0 || done < 0 || dup2(in, 3) < 0 || dup2(ns, 4) < 0 || dup2(done, 5) < 0)
                        _exit(EXIT_FAILURE);
                (void) syscall(SYS_close_range, 6, ~0U, 0);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int i = 0; null >= 0 && i < 3; i++)
                        (void) dup2(null, i);
                l->netns_fd = 4;
                l->claim_fd = -1;
                (void) prctl(PR_SET_NAME, "(spawn-netlinks)");
                (void) setpgid(0, 0);
                signal(SIGINT, SIG_IGN);
                signal(SIGTERM, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                signal(SIGPIPE, SIG_IGN);
                while (read(3, &c, 1) < 0 && errno == EINTR)
                        ;
                links_release(l, 5);
                _exit(EXIT_SUCCESS);
        }
        safe_close(pipefd[0]);
        safe_close(donefd[1]);
        l->cleanup_fd = pipefd[1];
        l->cleanup_done_fd = donefd[0];
        l->cleanup_pid = pid;
        return 0;
}

int network_links_setup(NetworkLinks *l, const NetworkLinkOptions *o, const char *machine, const char *pool,
                        const PortForward *ports, size_t n_ports, pid_t pid) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;
        char path[64];
        int r;

        if (!network_link_options_private(o))
                return 0;
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
        l->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (l->netns_fd < 0)
                return log_error_errno(errno, "Failed to open the container's network namespace: %m");
        r = netlink_open(&nl);
        if (r < 0)
                return log_error_errno(r, "Failed to open netlink: %m");
        r = 0;
        if (o->zone)
                r = links_zone_join(l, nl, o->zone, machine, pool, ports, n_ports, pid);
        else if (o->bridge)
                r = links_bridge_join(l, nl, o->bridge, machine, pid);
        if (r >= 0)
                r = links_veth_extra(l, nl, o->veth_extra, pid);
        if (r >= 0)
                r = links_sublinks(nl, "macvlan", "mv-", o->macvlan, pid);
        if (r >= 0)
                r = links_sublinks(nl, "ipvlan", "iv-", o->ipvlan, pid);
        if (r >= 0)
                r = links_move_in(l, nl, o->interfaces, pid);
        if (r >= 0)
                r = links_cleanup_start(l);
        if (r < 0)
                links_release(l, -1);
        return r;
}

void network_links_teardown(NetworkLinks *l) {
        if (l->cleanup_pid > 0) {
                char c;
                /* Our copy goes first: the cleanup process must be the namespace's last holder
                 * but for the container. We wait until the moved interfaces are back, not for the
                 * rest: deleting a link waits for an RCU grace period (~15 ms for a veth, ~60 for
                 * a bridge), which nobody needs spawn to sit through; the zone's lock keeps a
                 * container joining meanwhile from losing its bridge. */
                l->netns_fd = safe_close(l->netns_fd);
                l->cleanup_fd = safe_close(l->cleanup_fd);
                while (read(l->cleanup_done_fd, &c, 1) < 0 && errno == EINTR)
                        ;
                l->cleanup_done_fd = safe_close(l->cleanup_done_fd);
                released_cleanup = l->cleanup_pid;
                l->cleanup_pid = 0;
        } else
                links_release(l, -1);
        l->netns_fd = safe_close(l->netns_fd);
        l->claim_fd = safe_close(l->claim_fd);
        /* Waits for spawn-nat to remove the member's rule (an exit must leave none). */
        network_veth_teardown(&l->nat);
        free(l->extra_ifindex);
        l->extra_ifindex = NULL;
        l->n_extra = 0;
        l->moved = strv_free(l->moved);
}
