/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of -n: pool parsing, the host-side name, the subnet choice. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <netinet/in.h>
#include <stdlib.h>

#include "nat-rules.h"
#include "spawn-network.h"
#include "spawn-port.h"
#include "tap.h"

static struct in_addr a4(const char *s) {
        struct in_addr a = {};
        inet_pton(AF_INET, s, &a);
        return a;
}

static void test_pool_parse(void) {
        struct in_addr base;
        unsigned plen;

        CHECK(network_pool_parse("10.200.0.0/16", &base, &plen) == 0);
        CHECK(base.s_addr == a4("10.200.0.0").s_addr && plen == 16);
        CHECK(network_pool_parse("192.168.7.16/28", NULL, NULL) == 0);
        CHECK(network_pool_parse("10.200.0.0", NULL, NULL) == -EINVAL);
        CHECK(network_pool_parse("10.200.0.1/16", NULL, NULL) == -EINVAL);  /* host bits set */
        CHECK(network_pool_parse("10.0.0.0/29", NULL, NULL) == -EINVAL);    /* smaller than a /28 */
        CHECK(network_pool_parse("10.0.0.0/", NULL, NULL) == -EINVAL);
        CHECK(network_pool_parse("10.0.0.0/8x", NULL, NULL) == -EINVAL);
        CHECK(network_pool_parse("banana/8", NULL, NULL) == -EINVAL);
}

static void test_host_name(void) {
        char a[IFNAMSIZ], b[IFNAMSIZ];

        network_veth_host_name("web", a);
        CHECK_STREQ(a, "ve-web");
        network_veth_host_name("abcdefghijkl", a);   /* exactly 15 */
        CHECK_STREQ(a, "ve-abcdefghijkl");
        network_veth_host_name("abcdefghijklm-one", a);
        network_veth_host_name("abcdefghijklm-two", b);
        CHECK(strlen(a) == 15 && strlen(b) == 15);
        CHECK(strncmp(a, "ve-abcd", 7) == 0 && strcmp(a, b) != 0);
}

static void test_pick_subnet(void) {
        struct in_addr s;
        Route4 routes[] = {
                { a4("10.200.0.0"), 28 },
                { a4("10.200.0.16"), 30 },   /* inside the second /28 */
                { a4("192.168.1.0"), 24 },
        };

        CHECK(network_pick_subnet(a4("10.200.0.0"), 16, NULL, 0, &s) == 0 && s.s_addr == a4("10.200.0.0").s_addr);
        CHECK(network_pick_subnet(a4("10.200.0.0"), 16, routes, 3, &s) == 0 && s.s_addr == a4("10.200.0.32").s_addr);
        /* A route covering the whole pool leaves nothing. */
        Route4 wide = { a4("10.0.0.0"), 8 };
        CHECK(network_pick_subnet(a4("10.200.0.0"), 16, &wide, 1, &s) == -EADDRNOTAVAIL);
        CHECK(network_pick_subnet(a4("10.200.0.0"), 28, routes, 1, &s) == -EADDRNOTAVAIL);
}

static struct in6_addr a6(const char *s) {
        struct in6_addr a = {};
        inet_pton(AF_INET6, s, &a);
        return a;
}

static void test_pool6_parse(void) {
        struct in6_addr base;
        unsigned plen;

        CHECK(network_pool6_parse("fd8b:2c3e:4a17::/48", &base, &plen) == 0 && plen == 48);
        struct in6_addr want = a6("fd8b:2c3e:4a17::");
        CHECK(memcmp(&base, &want, sizeof(base)) == 0);
        CHECK(network_pool6_parse("fd00::/64", NULL, NULL) == 0);
        CHECK(network_pool6_parse("fd00::/65", NULL, NULL) == -EINVAL);   /* smaller than a /64 */
        CHECK(network_pool6_parse("fd00::1/48", NULL, NULL) == -EINVAL);  /* host bits set */
        CHECK(network_pool6_parse("fd00::", NULL, NULL) == -EINVAL);
        CHECK(network_pool6_parse("10.0.0.0/8", NULL, NULL) == -EINVAL);
}

static void test_pick_index(void) {
        NetworkPools p = { .base4 = a4("10.200.0.0"), .prefixlen4 = 16, .ipv6 = true, .prefixlen6 = 48 };
        struct in6_addr net6;
        uint32_t i;

        p.base6 = a6("fd8b:2c3e:4a17::");
        CHECK(network_subnet4(&p, 2).s_addr == a4("10.200.0.32").s_addr);
        network_subnet6(&p, 0x1234, &net6);
        struct in6_addr want = a6("fd8b:2c3e:4a17:1234::");
        CHECK(memcmp(&net6, &want, sizeof(net6)) == 0);

        Route4 r4[] = { { a4("10.200.0.0"), 28 } };
        Route6 r6[] = { { a6("fd8b:2c3e:4a17:1::"), 64 }, { a6("fd8b:2c3e:4a17:2::1"), 128 } };
        CHECK(network_pick_index(&p, NULL, 0, NULL, 0, &i) == 0 && i == 0);
        /* index 0: IPv4 taken; 1 and 2: IPv6 taken; so both families move on to 3 */
        CHECK(network_pick_index(&p, r4, 1, r6, 2, &i) == 0 && i == 3);
        p.ipv6 = false;
        CHECK(network_pick_index(&p, r4, 1, r6, 2, &i) == 0 && i == 1);
        /* a /64 pool has one /64: the second index is out of it */
        p.ipv6 = true;
        p.base6 = a6("fd00::");
        p.prefixlen6 = 64;
        CHECK(network_pick_index(&p, r4, 1, NULL, 0, &i) == -EADDRNOTAVAIL);
}

static void test_port_parse(void) {
        PortForward p, *l = NULL;
        size_t n = 0;
        char buf[24];

        CHECK(port_forward_parse("8080", &p) == 0 && p.protocol == IPPROTO_TCP && p.host_port == 8080 && p.container_port == 8080);
        CHECK(port_forward_parse("udp:53:5353", &p) == 0 && p.protocol == IPPROTO_UDP && p.host_port == 53 && p.container_port == 5353);
        port_forward_format(&p, buf);
        CHECK_STREQ(buf, "udp:53:5353");
        CHECK(port_forward_parse("tcp:80:8080", &p) == 0 && p.host_port == 80 && p.container_port == 8080);
        const char *bad[] = { "", "0", "65536", "tcp:", "sctp:80", "80:", ":80", "8o", "80:90:100", "udp:80:0", "+80", " 80", NULL };
        for (const char **b = bad; *b; b++)
                CHECK(port_forward_parse(*b, &p) == -EINVAL);
        CHECK(port_forward_parse("80", &p) == 0 && port_forward_append(&l, &n, &p) == 0);
        CHECK(port_forward_parse("udp:80", &p) == 0 && port_forward_append(&l, &n, &p) == 0);
        CHECK(port_forward_parse("tcp:80:81", &p) == 0 && port_forward_append(&l, &n, &p) == -EEXIST && n == 2);
        free(l);
}

static void test_nat_rules(void) {
        char name[NAT_CHAIN_MAX], dev[16], *text = NULL;
        char *ports[] = { (char *) "tcp:8080:80", NULL }, *bad_ports[] = { (char *) "tcp:8080:80; flush ruleset", NULL };

        nat_chain_name('p', "ve-a", name);
        CHECK_STREQ(name, "p_76652d61");
        CHECK(nat_chain_ifname(name, dev) == 0);
        CHECK_STREQ(dev, "ve-a");
        CHECK(nat_chain_ifname("x_76", dev) == -EINVAL && nat_chain_ifname("c_7", dev) == -EINVAL &&
              nat_chain_ifname("c_", dev) == -EINVAL && nat_chain_ifname("c_zz", dev) == -EINVAL);

        NatSpec s = { .ifname = "ve-a", .subnet4 = "10.200.0.0/28", .addr4 = "10.200.0.2" };
        CHECK(nat_rules_add(&s, &text) == 0);
        CHECK(strstr(text, "ip saddr 10.200.0.0/28 oifname != \"ve-a\" masquerade") && !strstr(text, "dnat"));
        free(text);
        s.subnet6 = "fd00::/64";
        s.addr6 = "fd00::2";
        s.ports = ports;
        CHECK(nat_rules_add(&s, &text) == 0);
        CHECK(strstr(text, "add chain inet berth o_76652d61 { type nat hook output priority -100; }"));
        CHECK(strstr(text, "add rule inet berth p_76652d61 fib daddr type local meta nfproto ipv6 tcp dport 8080 dnat ip6 to [fd00::2]:80"));
        /* from the host itself, [::1] is spawn-nat's relay, not DNAT's */
        CHECK(strstr(text, "add rule inet berth o_76652d61 fib daddr type local meta nfproto ipv6 ip6 daddr != ::1 tcp dport 8080"));
        CHECK(strstr(text, "oifname \"ve-a\" ip saddr 127.0.0.0/8 ip daddr 10.200.0.2 masquerade"));
        free(text);
        /* a zone member: its chains by vb-NAME, 127.0.0.1's masquerade where it leaves, the bridge */
        NatSpec z = { .ifname = "vb-m", .outif = "vz-z", .subnet4 = "10.200.0.5/32", .addr4 = "10.200.0.5", .ports = ports };
        CHECK(nat_rules_add(&z, &text) == 0);
        CHECK(strstr(text, "ip saddr 10.200.0.5/32 oifname != \"vz-z\" masquerade"));
        CHECK(strstr(text, "oifname \"vz-z\" ip saddr 127.0.0.0/8 ip daddr 10.200.0.5 masquerade"));
        CHECK(strstr(text, "add rule inet berth o_76622d6d fib daddr type local meta nfproto ipv4 tcp dport 8080 dnat ip to 10.200.0.5:80"));
        CHECK(!strstr(text, "ipv6"));
        free(text);
        /* nothing that is not a name, an address or a port gets into the text */
        s.ports = bad_ports;
        CHECK(nat_rules_add(&s, &text) == -EINVAL);
        s.ports = NULL;
        s.ifname = "ve-\"; flush";
        CHECK(nat_rules_add(&s, &text) == -EINVAL);
        s.ifname = "ve-a";
        s.addr4 = "10.0.0.2; flush ruleset";
        CHECK(nat_rules_add(&s, &text) == -EINVAL);
        char comment[32];
        CHECK(nat_port_comment("udp:53:5353", comment) == 0);
        CHECK_STREQ(comment, "port udp 53");
}

int main(void) {
        test_pool_parse();
        test_host_name();
        test_pick_subnet();
        test_pool6_parse();
        test_pick_index();
        test_port_parse();
        test_nat_rules();
        return tap_finish();
}
