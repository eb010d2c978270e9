/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of the link options: names, their parsing and checks, a zone's subnet choice. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "spawn-network-links.h"
#include "spawn-network.h"
#include "tap.h"

static struct in_addr a4(const char *s) {
        struct in_addr a = {};
        inet_pton(AF_INET, s, &a);
        return a;
}

static void test_ifname(void) {
        char a[IFNAMSIZ], b[IFNAMSIZ];

        CHECK(network_ifname_valid("eth0"));
        CHECK(network_ifname_valid("abcdefghijklmno"));    /* 15 */
        CHECK(!network_ifname_valid("abcdefghijklmnop"));  /* 16 */
        CHECK(!network_ifname_valid(""));
        CHECK(!network_ifname_valid("."));
        CHECK(!network_ifname_valid("a/b"));
        CHECK(!network_ifname_valid("a:b"));
        CHECK(!network_ifname_valid("a b"));

        network_ifname_make("vb-", "web", a);
        CHECK_STREQ(a, "vb-web");
        network_ifname_make("mv-", "enp0s31f6abc", a);   /* exactly 15 */
        CHECK_STREQ(a, "mv-enp0s31f6abc");
        network_ifname_make("vb-", "averyverylongname-1", a);
        network_ifname_make("vb-", "averyverylongname-2", b);
        CHECK(strlen(a) == 15 && strlen(b) == 15 && strcmp(a, b) != 0);
        CHECK(strncmp(a, "vb-aver", 7) == 0 && strspn(a + 7, "0123456789abcdef") == 8);
        /* -n's name is the same rule with ve-. */
        network_veth_host_name("averyverylongname-1", b);
        CHECK(strncmp(b, "ve-aver", 7) == 0 && strcmp(a + 7, b + 7) != 0);
}

static void test_parse(void) {
        NetworkLinkOptions o = {};

        CHECK(network_links_parse_option(&o, ARG_NETWORK_VETH_EXTRA, "vx0") == 0);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_VETH_EXTRA, "vx1:inner1") == 0);
        CHECK(o.veth_extra && o.veth_extra[0] && o.veth_extra[1] && !o.veth_extra[2]);
        CHECK_STREQ(o.veth_extra[0], "vx0:vx0");
        CHECK_STREQ(o.veth_extra[1], "vx1:inner1");
        CHECK(network_links_parse_option(&o, ARG_NETWORK_VETH_EXTRA, "a:b:c") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_VETH_EXTRA, ":b") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_VETH_EXTRA, "a:") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_VETH_EXTRA, "a:host0") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_VETH_EXTRA, "abcdefghijklmnop:b") == -EINVAL);

        CHECK(network_links_parse_option(&o, ARG_NETWORK_ZONE, "abcdefghijkl") == 0);  /* vz- + 12 */
        CHECK(network_links_parse_option(&o, ARG_NETWORK_ZONE, "abcdefghijklm") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_ZONE, "") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_BRIDGE, "br/0") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_INTERFACE, "eth0") == 0);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_INTERFACE, "eth1:lan") == 0);
        CHECK_STREQ(o.interfaces[0], "eth0:eth0");
        CHECK_STREQ(o.interfaces[1], "eth1:lan");
        CHECK(network_links_parse_option(&o, ARG_NETWORK_INTERFACE, "eth1:") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_MACVLAN, "") == -EINVAL);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_NAMESPACE_PATH, "run/netns/x") == -EINVAL);
        CHECK(network_link_options_private(&o));

        CHECK(network_links_parse_option(&o, ARG_NETWORK_BRIDGE, "br0") == 0);
        CHECK(network_link_options_verify(&o, true) == -EINVAL);   /* bridge and zone */
        CHECK(!network_veth_wanted(true, &o));
        network_link_options_done(&o);
        CHECK(network_veth_wanted(true, &o) && !network_link_options_any(&o));

        CHECK(network_links_parse_option(&o, ARG_NETWORK_NAMESPACE_PATH, "/proc/self/ns/net") == 0);
        CHECK(network_link_options_verify(&o, false) == 0);
        CHECK(network_link_options_verify(&o, true) == -EINVAL);   /* with --private-network or -n */
        network_link_options_done(&o);
        CHECK(network_links_parse_option(&o, ARG_NETWORK_NAMESPACE_PATH, "/proc/self/stat") == 0);
        CHECK(network_link_options_verify(&o, false) < 0);
        network_link_options_done(&o);
}

static void test_pick_zone_subnet(void) {
        struct in_addr s;
        Route4 routes[] = {
                { a4("10.200.0.0"), 28 },   /* a -n container */
                { a4("10.200.1.0"), 24 },   /* another zone */
        };

        CHECK(network_pick_subnet_sized(a4("10.200.0.0"), 16, 24, routes, 2, &s) == 0);
        CHECK(s.s_addr == a4("10.200.2.0").s_addr);
        CHECK(network_pick_subnet_sized(a4("10.200.0.0"), 16, 24, NULL, 0, &s) == 0);
        CHECK(s.s_addr == a4("10.200.0.0").s_addr);
        /* A /24 pool holds one zone, and none once a /28 of it is taken. */
        CHECK(network_pick_subnet_sized(a4("10.200.0.0"), 24, 24, routes, 2, &s) == -EADDRNOTAVAIL);
        /* ... and -n's /28s still skip the zone's /24. */
        Route4 zone = { a4("10.200.0.0"), 24 };
        CHECK(network_pick_subnet(a4("10.200.0.0"), 23, &zone, 1, &s) == 0);
        CHECK(s.s_addr == a4("10.200.1.0").s_addr);
}

/* Every descriptor of the "nothing yet" values is -1: a 0 would be closed on teardown, and that
 * is spawn's stdin (a poststop hook then read an empty state). */
static void test_null_values(void) {
        NetworkLinks l = NETWORK_LINKS_NULL;
        SpawnNetwork n = SPAWN_NETWORK_NULL;

        CHECK(l.netns_fd == -1 && l.claim_fd == -1 && l.cleanup_fd == -1 && l.cleanup_done_fd == -1);
        CHECK(l.nat.nat_fd == -1 && l.nat.nat_status_fd == -1 && l.nat.pool_lock == -1);
        CHECK(n.nat_fd == -1 && n.nat_status_fd == -1 && n.pool_lock == -1);
}

int main(void) {
        log_set_max_level(-1);
        test_null_values();
        test_ifname();
        test_parse();
        test_pick_zone_subnet();
        return tap_finish();
}
