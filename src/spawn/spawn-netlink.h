/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

/* rtnetlink requests over libmnl, each returning -errno from the kernel's acknowledgement. A
 * Netlink is bound to the network namespace it was opened in (netlink_open_in() opens one in
 * another namespace without leaving ours for longer than the socket() call). */
typedef struct Netlink Netlink;

int netlink_open(Netlink **ret);
int netlink_open_in(int netns_fd, Netlink **ret);
Netlink *netlink_close(Netlink *nl);
static inline void netlink_closep(Netlink **nl) {
        if (*nl)
                netlink_close(*nl);
}

/* A veth pair: @host_name here, @peer_name moved at creation into the network namespace of
 * @peer_pid. Returns -EEXIST when either name is taken here. */
int netlink_veth_create(Netlink *nl, const char *host_name, const char *peer_name, pid_t peer_pid);
int netlink_link_index(Netlink *nl, const char *name);
int netlink_link_up(Netlink *nl, int ifindex);
int netlink_link_delete(Netlink *nl, int ifindex);
int netlink_addr4_add(Netlink *nl, int ifindex, struct in_addr addr, unsigned prefixlen);
int netlink_route4_default(Netlink *nl, int ifindex, struct in_addr gateway);

/* The IPv4 destinations of every route in every table (the default route excluded), as
 * network-order address and prefix length pairs, for the pool to avoid. */
typedef struct Route4 {
        struct in_addr dst;
        unsigned prefixlen;
} Route4;
int netlink_route4_dump(Netlink *nl, Route4 **ret, size_t *ret_n);

/* Links for --network-bridge/-zone/-macvlan/-ipvlan/-interface (spawn-network-links.c). */
int netlink_bridge_create(Netlink *nl, const char *name);
/* A macvlan (mode bridge) or ipvlan (mode L2) @kind on @parent_ifindex, made in @pid's network
 * namespace as @name. */
int netlink_sublink_create(Netlink *nl, const char *kind, const char *name, int parent_ifindex, pid_t pid);
int netlink_link_set_master(Netlink *nl, int ifindex, int master_ifindex);
/* Moves a link into the namespace of @netns_fd, or of @pid when @netns_fd < 0, renamed to
 * @new_name unless NULL. */
int netlink_link_move(Netlink *nl, int ifindex, pid_t pid, int netns_fd, const char *new_name);
/* How many links have @master_ifindex as master (a bridge's members). */
int netlink_link_count_members(Netlink *nl, int master_ifindex);
/* The first IPv4 address of a link; -EADDRNOTAVAIL when it has none. */
int netlink_addr4_first(Netlink *nl, int ifindex, struct in_addr *ret_addr, unsigned *ret_prefixlen);

/* IPv6: an address added without duplicate address detection, the default route, the unicast
 * destinations of every table (default and link-local excluded), and a link's MAC address. */
typedef struct Route6 {
        struct in6_addr dst;
        unsigned prefixlen;
} Route6;
int netlink_addr6_add(Netlink *nl, int ifindex, const struct in6_addr *addr, unsigned prefixlen);
int netlink_route6_default(Netlink *nl, int ifindex, const struct in6_addr *gateway);
int netlink_route6_dump(Netlink *nl, Route6 **ret, size_t *ret_n);
int netlink_link_mac(Netlink *nl, int ifindex, uint8_t ret[static 6]);
