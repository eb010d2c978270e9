/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Brings up "lo" in the current (fresh) network namespace. */
int network_loopback_up(void);
