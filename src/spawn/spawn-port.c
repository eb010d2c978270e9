/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"
#include "spawn-port.h"

const char *port_protocol_to_string(int protocol) {
        return protocol == IPPROTO_UDP ? "udp" : protocol == IPPROTO_TCP ? "tcp" : NULL;
}

static int parse_port(const char *s, size_t len, uint16_t *ret) {
        char buf[8];
        unsigned v;

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (strspn(buf, "0123456789") != len || safe_atou(buf, &v) < 0 || v == 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

int port_forward_parse(const char *s, PortForward *ret) {
        PortForward p = { .protocol = IPPROTO_TCP };
        const char *colon;

        if (!s)
                return -EINVAL;
        if (strncmp(s, "tcp:", 4) == 0)
                s += 4;
        else if (strncmp(s, "udp:", 4) == 0) {
                p.protocol = IPPROTO_UDP;
                s += 4;
        }
        colon = strchr(s, ':');
        if (parse_port(s, colon ? (size_t) (colon - s) : strlen(s), &p.host_port) < 0)
                return -EINVAL;
        if (colon) {
                if (parse_port(colon + 1, strlen(colon + 1), &p.container_port) < 0)
                        return -EINVAL;
        } else
                p.container_port = p.host_port;
        *ret = p;
        return 0;
}

int port_forward_append(PortForward **l, size_t *n, const PortForward *p) {
        for (size_t i = 0; i < *n; i++)
                if ((*l)[i].protocol == p->protocol && (*l)[i].host_port == p->host_port)
                        return -EEXIST;
        PortForward *m = realloc(*l, (*n + 1) * sizeof(PortForward));
        if (!m)
                return -ENOMEM;
        m[(*n)++] = *p;
        *l = m;
        return 0;
}

void port_forward_format(const PortForward *p, char buf[static 24]) {
        snprintf(buf, 24, "%s:%u:%u", port_protocol_to_string(p->protocol), (unsigned) p->host_port,
                 (unsigned) p->container_port);
}
