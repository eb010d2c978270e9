/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The nftables text spawn-nat feeds libnftables (pure: builds strings only, for unit tests).
 * Everything lives in table "inet berth", in chains named after the host-side interface:
 * c_<hex> (postrouting: masquerading), and with port forwards p_<hex> (prerouting) and o_<hex>
 * (output: the host's own connections, to its localhost too). */
typedef struct NatSpec {
        const char *ifname;       /* ve-NAME (a zone member's vb-NAME): names the chains */
        const char *outif;        /* masquerade what leaves by any other interface; NULL: ifname */
        const char *subnet4;      /* the container's /28 */
        const char *subnet6;      /* its /64, or NULL */
        const char *addr4;        /* host0's addresses, the forwards' destination */
        const char *addr6;        /* or NULL */
        char **ports;             /* "tcp:HOST:CONTAINER", NULL-terminated, or NULL */
} NatSpec;

#define NAT_TABLE "inet berth"
#define NAT_CHAIN_MAX (2 + 2 * 16 + 1)

/* The chain names for @ifname: prefix 'c', 'p' or 'o'. */
void nat_chain_name(char prefix, const char *ifname, char buf[static NAT_CHAIN_MAX]);
/* Back from a chain name to the interface, for the clean-up of chains whose spawn-nat was
 * killed; -EINVAL if @chain is not one of ours. */
int nat_chain_ifname(const char *chain, char buf[static 16]);
/* Validates @s (names and addresses without nft syntax, ports as spawn writes them) and
 * returns the text of one transaction adding all its chains and rules. */
int nat_rules_add(const NatSpec *s, char **ret);
/* The comment a forward's rules carry: 'port tcp 8080', to find them in a listing. */
int nat_port_comment(const char *port, char buf[static 32]);
