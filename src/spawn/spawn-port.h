/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* -p/--port=[tcp|udp:]HOST[:CONTAINER], as systemd-nspawn spells it. */
typedef struct PortForward {
        int protocol;             /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t host_port;
        uint16_t container_port;
} PortForward;

/* -EINVAL for anything but a protocol of tcp or udp and ports 1..65535. */
int port_forward_parse(const char *s, PortForward *ret);
/* Appends a copy; -EEXIST when the same protocol and host port is there already. */
int port_forward_append(PortForward **l, size_t *n, const PortForward *p);
/* "tcp:8080:80", the form spawn-nat takes. */
void port_forward_format(const PortForward *p, char buf[static 24]);
const char *port_protocol_to_string(int protocol);
