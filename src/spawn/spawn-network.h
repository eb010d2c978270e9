/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

#include "spawn-netlink.h"

/* Brings up "lo" in the current (fresh) network namespace. */
int network_loopback_up(void);

/* -n's addressing: each container takes the first /28 of the pool that overlaps no route of the
 * host's; the host side is its first address, host0 the second, with a default route via the
 * host side. */
#define NETWORK_POOL_DEFAULT "10.200.0.0/16"
#define NETWORK_SUBNET_PREFIXLEN 28u

/* Parses "A.B.C.D/N" (N ≤ 28, host bits cleared). Either output may be NULL. */
int network_pool_parse(const char *s, struct in_addr *ret_base, unsigned *ret_prefixlen);

/* "ve-" + machine name; names over 15 characters keep their first 7 and end in 8 hex digits of
 * a hash of the whole name, so two long names sharing a prefix still differ. */
void network_veth_host_name(const char *machine, char ret[static IFNAMSIZ]);

/* The first /28 of the pool overlapping none of @routes; -EADDRNOTAVAIL when none is free. */
int network_pick_subnet(struct in_addr base, unsigned prefixlen, const Route4 *routes, size_t n_routes,
                        struct in_addr *ret_subnet);
/* The same for a /@subnet_len (a zone's bridge takes a larger one). */
int network_pick_subnet_sized(struct in_addr base, unsigned prefixlen, unsigned subnet_len, const Route4 *routes,
                              size_t n_routes, struct in_addr *ret_subnet);

typedef struct SpawnNetwork {
        char host_ifname[IFNAMSIZ];
        int host_ifindex;          /* 0: nothing made */
        struct in_addr host_addr, container_addr;
        pid_t nat_pid;             /* spawn-nat, which holds the masquerading rule while nat_fd is open */
        int nat_fd;
        int nat_status_fd;         /* its "ok" comes here */
} SpawnNetwork;

#define SPAWN_NETWORK_NULL ((SpawnNetwork) { .nat_fd = -1, .nat_status_fd = -1 })

/* Outbound masquerading for the container's /28 through spawn-nat (libnftables), which removes
 * its rule when nat_fd closes, also when spawn is SIGKILLed. network_nat_start() starts it first
 * thing, before the subnet is known: loading libnftables and its four libraries and setting up
 * its context is most of the cost of -n (10-25 ms), and overlaps the root's setup and the clone;
 * network_veth_setup() passes it the subnet; network_nat_wait() waits for its "ok", before the
 * container's payload may send anything. */
int network_nat_start(SpawnNetwork *n, const char *ifname, const char *outif);
/* In the supervisor, before the child's inner phase: creates the pair with host0 in @pid's
 * network namespace and addresses both ends. On failure logs one line and leaves nothing. */
int network_veth_setup(SpawnNetwork *n, const char *machine, const char *pool, pid_t pid);
/* The traffic of @net/@prefixlen leaving by any interface but @outif (NULL: @ifname, the chain's
 * name) is what it masquerades. */
int network_nat_send_subnet(SpawnNetwork *n, struct in_addr net, unsigned prefixlen);
int network_nat_wait(SpawnNetwork *n);
/* Removes the host side (and with it host0) if still there. */
void network_veth_teardown(SpawnNetwork *n);
