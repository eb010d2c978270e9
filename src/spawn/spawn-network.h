/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <arpa/inet.h>
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

/* IPv6: each container takes the /64 of the same index in a ULA pool (RFC 4193; the default's
 * 40-bit global ID was drawn at random once), the host side ::1, host0 ::2; link-local
 * addresses come from the kernel as on any link. */
#define NETWORK_POOL6_DEFAULT "fd8b:2c3e:4a17::/48"
#define NETWORK_SUBNET6_PREFIXLEN 64u

/* Parses an IPv6 "PREFIX/N" (N ≤ 64, host bits cleared). Either output may be NULL. */
int network_pool6_parse(const char *s, struct in6_addr *ret_base, unsigned *ret_prefixlen);

typedef struct NetworkPools {
        struct in_addr base4;
        unsigned prefixlen4;
        bool ipv6;
        struct in6_addr base6;
        unsigned prefixlen6;
} NetworkPools;

/* The container's /28 and /64 by index in the pools. */
struct in_addr network_subnet4(const NetworkPools *p, uint32_t index);
void network_subnet6(const NetworkPools *p, uint32_t index, struct in6_addr *ret);
/* The first index whose /28 (and /64, with IPv6) overlaps none of the routes; -EADDRNOTAVAIL
 * when none is free. */
int network_pick_index(const NetworkPools *p, const Route4 *routes4, size_t n4, const Route6 *routes6, size_t n6,
                       uint32_t *ret_index);

typedef struct SpawnNetwork {
        char host_ifname[IFNAMSIZ];
        int host_ifindex;          /* 0: nothing made */
        bool external;             /* systemd-networkd configures the links: no addresses, DHCP or NAT of ours */
        struct in_addr host_addr, container_addr;
        bool ipv6;
        struct in6_addr host_addr6, container_addr6;
        uint8_t container_mac[6];
        pid_t nat_pid;             /* spawn-nat, which holds the nftables rules while nat_fd is open */
        int nat_fd;
        int nat_status_fd;         /* its "ok" comes here */
        pid_t dhcp_pid;            /* dnsmasq on ve-NAME (spawn-dhcp.c), 0: none */
        int pool_lock;             /* network_veth_prepare() to the host side's addresses */
} SpawnNetwork;

#define SPAWN_NETWORK_NULL ((SpawnNetwork) { .nat_fd = -1, .nat_status_fd = -1, .pool_lock = -1 })

/* Outbound masquerading for the container's subnets, and -p's forwards, through spawn-nat
 * (libnftables), which removes its rules when nat_fd closes, also when spawn is SIGKILLed.
 * network_nat_start() starts it first thing, before the subnet is known: loading libnftables and
 * its four libraries and setting up its context is most of the cost of -n (10-25 ms), and
 * overlaps the root's setup and the clone; network_veth_setup() passes it the subnets, addresses
 * and forwards once ve-NAME exists; network_nat_wait() waits for its "ok", before the container's
 * payload may send anything. */
int network_nat_start(SpawnNetwork *n, const char *ifname, const char *outif);
/* The traffic of @net/@prefixlen leaving by any interface but @outif (NULL: @ifname, the chain's
 * name) is what it masquerades; @ports (spawn-port.h) go to n->container_addr (and
 * n->container_addr6 with n->ipv6). */
typedef struct PortForward PortForward;
int network_nat_send_subnet(SpawnNetwork *n, struct in_addr net, unsigned prefixlen, const PortForward *ports,
                            size_t n_ports);
int network_nat_wait(SpawnNetwork *n);
/* In the supervisor, before the clone: the host-side name, whether systemd-networkd manages
 * the links, and the subnets (the first free index of the pools, under the pool's lock until
 * network_veth_setup() has addressed ve-NAME), so that the container's resolv.conf can name the
 * host side before the child's outer phase. Logs one line on failure. */
int network_veth_prepare(SpawnNetwork *n, const char *machine, const char *pool, const char *pool6);
/* The name server a container with -n is told about (dnsmasq on the host side), or NULL when
 * there is none (no dnsmasq, or systemd-networkd's links). */
const char *network_nameserver(const SpawnNetwork *n, char buf[static INET_ADDRSTRLEN]);
/* Before the child's inner phase: creates the pair with host0 in @pid's network namespace,
 * addresses both ends and hands spawn-nat the subnets and @ports (spawn-port.h). On failure logs
 * one line and leaves nothing. */
int network_veth_setup(SpawnNetwork *n, pid_t pid, const PortForward *ports, size_t n_ports);
/* Removes the host side (and with it host0) if still there, after spawn-nat and dnsmasq. */
void network_veth_teardown(SpawnNetwork *n);
/* The pair @host_ifname here / host0 in @pid's network namespace, for -n and for a bridge's
 * member: returns @host_ifname's index, or logs one line and returns -errno. */
int network_veth_host0_create(Netlink *nl, const char *host_ifname, pid_t pid);

/* Whether systemd-networkd runs on this host (its state directory and its bus name), in which
 * case berth leaves ve-NAME and host0 to it, as systemd-nspawn does. */
bool network_networkd_running(void);

/* spawn-dhcp.c: dnsmasq on ve-NAME answering DHCP (host0's address, reserved for its MAC, the
 * host side as router and name server) and DNS (forwarding to the host's resolvers), and
 * advertising the /64 to guests that want router advertisements. Dies with spawn (parent-death
 * signal). Returns 0 without starting anything when dnsmasq is not installed. */
int network_dhcp_start(SpawnNetwork *n);
/* Waits (at most a second) until it has bound port 53: resolv.conf names it, so a payload that
 * resolves a name at once must find it. Called last before SYNC_GO, so that its start overlaps
 * the registration and spawn-nat's. */
void network_dhcp_wait(SpawnNetwork *n);
bool network_dhcp_available(void);
void network_dhcp_stop(SpawnNetwork *n);
