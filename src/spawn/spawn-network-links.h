/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

#include "spawn-network.h"

/* The link options besides -n, with systemd-nspawn's names and meanings: --network-bridge,
 * --network-zone, --network-veth-extra, --network-macvlan, --network-ipvlan,
 * --network-interface, --network-namespace-path. Parsed here (network_links_parse_option()),
 * set up by the supervisor before the child's inner phase (network_links_setup()). */
typedef struct NetworkLinkOptions {
        char *bridge;            /* --network-bridge=: an existing bridge vb-NAME joins */
        char *zone;              /* --network-zone=: NAME of the bridge vz-NAME, made on demand */
        char **veth_extra;       /* "HOST:CONTAINER" */
        char **macvlan;          /* parent interfaces */
        char **ipvlan;
        char **interfaces;       /* "HOST:CONTAINER", moved in (renamed), moved back */
        char *netns_path;        /* join this namespace instead of making one */
} NetworkLinkOptions;

enum {
        ARG_NETWORK_BRIDGE = 0x400,
        ARG_NETWORK_ZONE,
        ARG_NETWORK_VETH_EXTRA,
        ARG_NETWORK_MACVLAN,
        ARG_NETWORK_IPVLAN,
        ARG_NETWORK_INTERFACE,
        ARG_NETWORK_NAMESPACE_PATH,
};

/* Where berth's network locks and address claims live (host-wide, like the user namespace
 * ranges' locks). */
#define NETWORK_LOCK_DIR "/run/berth/network"

void network_link_options_done(NetworkLinkOptions *o);
/* Parses one option with an id above; 0 or -errno (logged, one line). */
int network_links_parse_option(NetworkLinkOptions *o, int id, const char *arg);
/* Whether any option here asks for the container's own network namespace (all but
 * --network-namespace-path, which joins one). */
bool network_link_options_private(const NetworkLinkOptions *o);
bool network_link_options_any(const NetworkLinkOptions *o);
/* Combinations nspawn refuses too, and that --network-namespace-path= names a network namespace.
 * Logs. */
int network_link_options_verify(const NetworkLinkOptions *o, bool private_network);
/* Whether -n's own ve-NAME is wanted: --network-bridge and --network-zone imply -n and take its
 * place with vb-NAME. */
static inline bool network_veth_wanted(bool network_veth, const NetworkLinkOptions *o) {
        return network_veth && !o->bridge && !o->zone;
}

/* @prefix + @name, shortened as nspawn does when longer than IFNAMSIZ-1: the first 7 characters
 * and 8 hex digits of a hash of the whole name, so two long names sharing a prefix still differ. */
void network_ifname_make(const char *prefix, const char *name, char ret[static IFNAMSIZ]);
bool network_ifname_valid(const char *s);

/* The pool's lock: taken from reading the host's routes until the new subnet's route exists, so
 * that two containers starting at once never pick the same subnet. Returns the lock's fd, or
 * -EBADF when /run cannot hold it (go on without). */
int network_pool_lock(void);

typedef struct NetworkLinks {
        int netns_fd;                  /* the container's network namespace */
        char host_ifname[IFNAMSIZ];    /* vb-NAME */
        int host_ifindex;
        char zone_ifname[IFNAMSIZ];    /* vz-NAME, "" without a zone */
        int claim_fd;                  /* the zone address this container holds */
        int *extra_ifindex;            /* host ends of --network-veth-extra */
        size_t n_extra;
        char **moved;                  /* --network-interface names, to move back */
        pid_t cleanup_pid;             /* holds netns_fd, undoes everything when cleanup_fd closes */
        int cleanup_fd;
        int cleanup_done_fd;           /* a byte: the moved interfaces are back */
        SpawnNetwork nat;              /* a zone member's masquerading (spawn-nat for vb-NAME) */
} NetworkLinks;

#define NETWORK_LINKS_NULL                                                              \
        ((NetworkLinks) { .netns_fd = -1, .claim_fd = -1, .cleanup_fd = -1, .cleanup_done_fd = -1, \
                          .nat = SPAWN_NETWORK_NULL })

/* A zone member's traffic to the outside is masqueraded as -n's is, by a spawn-nat of its own
 * (chain c_<vb-NAME>, its address/32, any interface but vz-ZONE): started before the clone as -n's, its "ok" awaited before
 * SYNC_GO. Both do nothing without --network-zone. */
int network_links_nat_start(NetworkLinks *l, const NetworkLinkOptions *o, const char *machine);
int network_links_nat_wait(NetworkLinks *l);
/* In the supervisor, after the clone and before the child's inner phase (@l as
 * network_links_nat_start() left it). @ports (--port) are forwarded to a zone member's address
 * (the caller refuses them without a zone). On failure logs one line and leaves nothing behind. */
int network_links_setup(NetworkLinks *l, const NetworkLinkOptions *o, const char *machine, const char *pool,
                        const PortForward *ports, size_t n_ports, pid_t pid);
/* Moves --network-interface links back, removes host ends and an empty zone bridge: through the
 * cleanup process, which does the same when spawn is SIGKILLed. */
void network_links_teardown(NetworkLinks *l);
