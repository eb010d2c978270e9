/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nat-rules.h"

/* nft's identifiers take no quotes and few characters: name the chains by the interface in hex. */
void nat_chain_name(char prefix, const char *ifname, char buf[static NAT_CHAIN_MAX]) {
        buf += sprintf(buf, "%c_", prefix);
        for (size_t i = 0; ifname[i] && i < 15; i++)
                buf += sprintf(buf, "%02x", (unsigned char) ifname[i]);
}

int nat_chain_ifname(const char *chain, char buf[static 16]) {
        size_t n = 0;

        if (!strchr("cpo", chain[0]) || chain[0] == '\0' || chain[1] != '_')
                return -EINVAL;
        for (const char *p = chain + 2; *p; p += 2) {
                unsigned v;
                if (!p[1] || n >= 15 || sscanf(p, "%2x", &v) != 1 || v == 0)
                        return -EINVAL;
                buf[n++] = (char) v;
        }
        buf[n] = '\0';
        return n > 0 ? 0 : -EINVAL;
}

/* Only what an interface name, an address or a prefix can contain: nothing that could close a
 * string or start another command in nft's syntax. */
static bool safe_token(const char *s) {
        return s && *s && strlen(s) < 64 && strspn(s, "0123456789abcdefABCDEF.:/-_") == strlen(s);
}

static bool safe_ifname(const char *s) {
        return s && *s && strlen(s) < 16 && !strpbrk(s, "\"\\; \n\t{}#");
}

typedef struct Port {
        char proto[4];
        unsigned host, container;
} Port;

static int port_parse(const char *s, Port *ret) {
        char tail;
        if (sscanf(s, "%3[a-z]:%u:%u%c", ret->proto, &ret->host, &ret->container, &tail) != 3)
                return -EINVAL;
        if ((strcmp(ret->proto, "tcp") != 0 && strcmp(ret->proto, "udp") != 0) || ret->host == 0 ||
            ret->host > 65535 || ret->container == 0 || ret->container > 65535)
                return -EINVAL;
        return 0;
}

int nat_port_comment(const char *port, char buf[static 32]) {
        Port p;
        if (port_parse(port, &p) < 0)
                return -EINVAL;
        snprintf(buf, 32, "port %s %u", p.proto, p.host);
        return 0;
}

static int append(char **buf, size_t *len, const char *fmt, ...) _printf_(3, 4);
static int append(char **buf, size_t *len, const char *fmt, ...) {
        va_list ap;
        char *m;

        va_start(ap, fmt);
        int k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        char *n = realloc(*buf, *len + (size_t) k + 1);
        if (!n) {
                free(m);
                return -ENOMEM;
        }
        memcpy(n + *len, m, (size_t) k + 1);
        free(m);
        *buf = n;
        *len += (size_t) k;
        return 0;
}

/* A forward's DNAT rules in chain @chain: to host0 for connections to any address of the host
 * (fib ... type local: its localhost included), in both families. */
static int append_forward(char **buf, size_t *len, const NatSpec *s, const char *chain, const Port *p, bool output) {
        int r = append(buf, len,
                       "add rule " NAT_TABLE " %s fib daddr type local meta nfproto ipv4 %s dport %u dnat ip to %s:%u comment \"port %s %u\"\n",
                       chain, p->proto, p->host, s->addr4, p->container, p->proto, p->host);
        if (r >= 0 && s->addr6)
                r = append(buf, len,
                           "add rule " NAT_TABLE " %s fib daddr type local meta nfproto ipv6 %s%s dport %u dnat ip6 to [%s]:%u comment \"port %s %u\"\n",
                           chain, output ? "ip6 daddr != ::1 " : "", p->proto, p->host, s->addr6, p->container, p->proto, p->host);
        return r;
}

int nat_rules_add(const NatSpec *s, char **ret) {
        char c[NAT_CHAIN_MAX], pre[NAT_CHAIN_MAX], out[NAT_CHAIN_MAX];
        char *buf = NULL;
        size_t len = 0;
        int r;

        const char *outif = s->outif ?: s->ifname;
        if (!safe_ifname(s->ifname) || !safe_ifname(outif) || !safe_token(s->subnet4) || !safe_token(s->addr4) ||
            (s->subnet6 && !safe_token(s->subnet6)) || (s->addr6 && !safe_token(s->addr6)))
                return -EINVAL;
        for (char **p = s->ports; p && *p; p++) {
                Port port;
                if (port_parse(*p, &port) < 0)
                        return -EINVAL;
        }
        nat_chain_name('c', s->ifname, c);
        nat_chain_name('p', s->ifname, pre);
        nat_chain_name('o', s->ifname, out);

        r = append(&buf, &len,
                   "add table " NAT_TABLE "\n"
                   "add chain " NAT_TABLE " %1$s { type nat hook postrouting priority srcnat; }\n"
                   "add rule " NAT_TABLE " %1$s ip saddr %2$s oifname != \"%3$s\" masquerade\n",
                   c, s->subnet4, outif);
        if (r >= 0 && s->subnet6)
                r = append(&buf, &len, "add rule " NAT_TABLE " %s ip6 saddr %s oifname != \"%s\" masquerade\n", c,
                           s->subnet6, outif);
        if (r >= 0 && s->ports && *s->ports)
                /* A connection to the host's 127.0.0.1, turned towards host0, still has a loopback
                 * source the container could not answer: give it the address of the host's side
                 * it leaves by (ve-NAME, or a zone's bridge: OUTIF). (IPv4 routes such a packet out
                 * of that device only with its route_localnet set.) */
                r = append(&buf, &len,
                           "add rule " NAT_TABLE " %1$s oifname \"%2$s\" ip saddr 127.0.0.0/8 ip daddr %5$s masquerade\n"
                           "add chain " NAT_TABLE " %3$s { type nat hook prerouting priority dstnat; }\n"
                           "add chain " NAT_TABLE " %4$s { type nat hook output priority -100; }\n",
                           c, outif, pre, out, s->addr4);
        for (char **p = s->ports; r >= 0 && p && *p; p++) {
                Port port;
                (void) port_parse(*p, &port);
                r = append_forward(&buf, &len, s, pre, &port, false);
                /* [::1] is spawn-nat's own listener (nat-proxy.c): IPv6 cannot route it back. */
                if (r >= 0)
                        r = append_forward(&buf, &len, s, out, &port, true);
        }
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}
