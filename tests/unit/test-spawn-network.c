/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of -n: pool parsing, the host-side name, the subnet choice. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "spawn-network.h"
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

int main(void) {
        test_pool_parse();
        test_host_name();
        test_pick_subnet();
        return tap_finish();
}
