/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "macro.h"
#include "varlink.h"

#define INPUT_MAX (16U * 1024U * 1024U)   /* one message may not exceed this */
#define OUTPUT_MAX (64U * 1024U * 1024U)  /* a client not reading its replies gets dropped */
#define CONNECTIONS_MAX 4096U
/* Limits for peers other than root (issue 11: one user holding 4200 idle connections or feeding
 * hundreds of MB locked root out). Root's connections are only bound by CONNECTIONS_MAX, and the
 * others together never take the last CONNECTIONS_ROOT_RESERVE of it. */
#define CONNECTIONS_ROOT_RESERVE 128U
#define CONNECTIONS_PER_UID_MAX 128U
#define BUFFERS_PER_UID_MAX (8U * 1024U * 1024U) /* input and output buffers, each */
/* A peer with this much unread output gets no further request read until it reads: replies
 * are never queued without bound for a client that pipelines and does not read. */
#define OUTPUT_HIGH (256U * 1024U)
#define BUFFER_KEEP (64U * 1024U) /* a larger buffer is freed once empty */
/* A connection that has not sent a request by then is closed. */
#define IDLE_TIMEOUT_USEC (10ULL * 1000000ULL)
#define ACCEPT_RETRY_USEC (250ULL * 1000ULL)
#define JSON_DEPTH_MAX 64
#define INTERFACES_MAX 8

typedef struct VarlinkConnection VarlinkConnection;

/* What one non-root UID holds. */
typedef struct VarlinkUid {
        uid_t uid;
        unsigned n_connections;
        size_t in_bytes, out_bytes; /* allocated buffer sizes */
        LIST_FIELDS(struct VarlinkUid, users);
} VarlinkUid;

struct VarlinkCall {
        unsigned n_ref;
        VarlinkConnection *connection; /* NULL once the connection is gone */
        bool more;
        bool oneway;
        bool done;
        int fds[VARLINK_FDS_MAX];      /* pushed, sent with the next reply */
        size_t n_fds;
};

struct VarlinkConnection {
        VarlinkServer *server;
        int fd;
        sd_event_source *io;
        sd_event_source *defer;      /* resumes reading after an asynchronous reply */
        char *in;
        size_t in_size, in_alloc;
        char *out;
        size_t out_size, out_alloc;
        /* Descriptors of one queued message, sent (SCM_RIGHTS) with its first byte at out_fds_at:
         * sendmsg() attaches them to exactly the bytes it carries, so the client receives them
         * with that message. */
        int out_fds[VARLINK_FDS_MAX];
        size_t n_out_fds, out_fds_at;
        struct ucred peer;
        struct VarlinkUid *user;     /* NULL for root: not accounted */
        sd_event_source *idle;       /* until the first request */
        VarlinkCall *pending;
        bool eof;
        LIST_FIELDS(VarlinkConnection, connections);
};

struct VarlinkServer {
        sd_event *event;
        int fd;
        char *path;
        sd_event_source *accept_source;
        VarlinkServerInfo info;
        struct {
                const VarlinkInterface *iface;
                void *userdata;
        } interfaces[INTERFACES_MAX];
        size_t n_interfaces;
        VarlinkConnection *connections;
        unsigned n_connections, n_unprivileged;
        VarlinkUid *users;
        sd_event_source *accept_retry;
        bool accept_paused_logged;
};

static void connection_free(VarlinkConnection *c);
static void connection_update_events(VarlinkConnection *c);
static void connection_process(VarlinkConnection *c);

/* ---- calls ----------------------------------------------------------------------------------- */

VarlinkCall *varlink_call_ref(VarlinkCall *c) {
        if (c)
                c->n_ref++;
        return c;
}

static void fds_close(int *fds, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                safe_close(fds[i]);
        *n = 0;
}

VarlinkCall *varlink_call_unref(VarlinkCall *c) {
        if (c && --c->n_ref == 0) {
                fds_close(c->fds, &c->n_fds);
                free(c);
        }
        return NULL;
}

int varlink_call_push_fd(VarlinkCall *c, int fd) {
        if (fd < 0)
                return -EBADF;
        if (c->done)
                return -EALREADY;
        if (c->n_fds >= VARLINK_FDS_MAX)
                return -ENOBUFS;
        c->fds[c->n_fds] = fd;
        return (int) c->n_fds++;
}

bool varlink_call_wants_more(const VarlinkCall *c) {
        return c->more;
}

int varlink_call_get_peer(const VarlinkCall *c, uid_t *ret_uid, pid_t *ret_pid) {
        if (!c->connection)
                return -ENOTCONN;
        if (ret_uid)
                *ret_uid = c->connection->peer.uid;
        if (ret_pid)
                *ret_pid = c->connection->peer.pid;
        return 0;
}

static int connection_queue(VarlinkConnection *c, struct json_object *msg) {
        size_t len;
        const char *s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN, &len);
        if (!s)
                return -ENOMEM;
        if (c->out_size + len + 1 > OUTPUT_MAX)
                return -ENOBUFS;
        if (c->out_size + len + 1 > c->out_alloc) {
                size_t a = MAX(c->out_alloc * 2, c->out_size + len + 1);
                if (c->user && c->user->out_bytes - c->out_alloc + a > BUFFERS_PER_UID_MAX)
                        return -ENOBUFS;
                char *n = realloc(c->out, a);
                if (!n)
                        return -ENOMEM;
                if (c->user)
                        c->user->out_bytes = c->user->out_bytes - c->out_alloc + a;
                c->out = n;
                c->out_alloc = a;
        }
        memcpy(c->out + c->out_size, s, len + 1); /* with the terminating NUL: the message separator */
        c->out_size += len + 1;
        return 0;
}

/* Queues the descriptors for the message about to be queued (at the end of the buffer). */
static int connection_queue_fds(VarlinkConnection *c, int *fds, size_t *n) {
        if (*n == 0)
                return 0;
        /* One message with descriptors in flight at a time: a client has one call answered at a
         * time, and replies with descriptors are final. */
        if (c->n_out_fds > 0)
                return -EBUSY;
        memcpy(c->out_fds, fds, *n * sizeof(int));
        c->n_out_fds = *n;
        c->out_fds_at = c->out_size;
        *n = 0;
        return 0;
}

static ssize_t send_with_fds(VarlinkConnection *c, const char *p, size_t len) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * VARLINK_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (char *) p, .iov_len = len };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = CMSG_SPACE(sizeof(int) * c->n_out_fds),
        };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * c->n_out_fds);
        memcpy(CMSG_DATA(cm), c->out_fds, sizeof(int) * c->n_out_fds);
        ssize_t k = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0)
                fds_close(c->out_fds, &c->n_out_fds);
        return k;
}

static int connection_flush(VarlinkConnection *c) {
        size_t done = 0;
        while (done < c->out_size) {
                size_t len = c->out_size - done;
                bool fds_now = c->n_out_fds > 0 && c->out_fds_at == done;
                if (c->n_out_fds > 0 && c->out_fds_at > done)
                        len = MIN(len, c->out_fds_at - done); /* up to the message that carries them */
                ssize_t k = fds_now ? send_with_fds(c, c->out + done, len)
                                    : send(c->fd, c->out + done, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return negative_errno();
                }
                done += (size_t) k;
        }
        memmove(c->out, c->out + done, c->out_size - done);
        c->out_size -= done;
        if (c->n_out_fds > 0)
                c->out_fds_at -= done;
        if (c->out_size == 0 && c->out_alloc > BUFFER_KEEP) {
                if (c->user)
                        c->user->out_bytes -= c->out_alloc;
                free(c->out);
                c->out = NULL;
                c->out_alloc = 0;
        }
        return 0;
}

/* Sends one reply message of the call; final ones end it and let the connection go on. */
static int call_send(VarlinkCall *c, struct json_object *msg, bool final) {
        int r = 0;

        if (c->done) {
                json_object_put(msg);
                return -EALREADY;
        }
        if (final)
                c->done = true;
        VarlinkConnection *conn = c->connection;
        if (conn && !c->oneway) {
                r = connection_queue_fds(conn, c->fds, &c->n_fds);
                if (r >= 0)
                        r = connection_queue(conn, msg);
                if (r >= 0)
                        r = connection_flush(conn);
        }
        if (final)
                fds_close(c->fds, &c->n_fds); /* not sent: the call or the connection is gone */
        json_object_put(msg);
        if (!conn)
                return 0;
        if (r < 0) {
                connection_free(conn);
                return r;
        }
        if (final && conn->pending == c) {
                conn->pending = NULL;
                varlink_call_unref(c);
                /* Not from here: we may be deep inside whoever answered. */
                if (conn->defer)
                        (void) sd_event_source_set_enabled(conn->defer, SD_EVENT_ONESHOT);
        }
        connection_update_events(conn);
        return 0;
}

static struct json_object *message_new(struct json_object *params) {
        struct json_object *msg = json_object_new_object();
        if (!msg) {
                json_object_put(params);
                return NULL;
        }
        json_object_object_add(msg, "parameters", params ?: json_object_new_object());
        return msg;
}

int varlink_call_reply(VarlinkCall *c, struct json_object *params) {
        struct json_object *msg = message_new(params);
        return msg ? call_send(c, msg, true) : -ENOMEM;
}

int varlink_call_notify(VarlinkCall *c, struct json_object *params) {
        if (!c->more) {
                json_object_put(params);
                return -EINVAL;
        }
        struct json_object *msg = message_new(params);
        if (!msg)
                return -ENOMEM;
        json_object_object_add(msg, "continues", json_object_new_boolean(1));
        return call_send(c, msg, false);
}

int varlink_call_error(VarlinkCall *c, const char *error, struct json_object *params) {
        struct json_object *msg = message_new(params);
        if (!msg)
                return -ENOMEM;
        json_object_object_add(msg, "error", json_object_new_string(error));
        return call_send(c, msg, true);
}

int varlink_call_error_invalid_parameter(VarlinkCall *c, const char *parameter) {
        struct json_object *p = json_object_new_object();
        if (p)
                json_object_object_add(p, "parameter", json_object_new_string(parameter));
        return varlink_call_error(c, VARLINK_ERROR_INVALID_PARAMETER, p);
}

int varlink_call_error_errno(VarlinkCall *c, int error) {
        struct json_object *p = json_object_new_object();
        if (p)
                json_object_object_add(p, "errno", json_object_new_int(abs(error)));
        return varlink_call_error(c, VARLINK_ERROR_SYSTEM, p);
}

/* ---- org.varlink.service ---------------------------------------------------------------------- */

static int service_get_info(VarlinkServer *s, VarlinkCall *call) {
        struct json_object *p = json_object_new_object(), *ifaces = json_object_new_array();
        if (!p || !ifaces) {
                json_object_put(p);
                json_object_put(ifaces);
                return -ENOMEM;
        }
        json_object_object_add(p, "vendor", json_object_new_string(s->info.vendor ?: ""));
        json_object_object_add(p, "product", json_object_new_string(s->info.product ?: ""));
        json_object_object_add(p, "version", json_object_new_string(s->info.version ?: ""));
        json_object_object_add(p, "url", json_object_new_string(s->info.url ?: ""));
        json_object_array_add(ifaces, json_object_new_string("org.varlink.service"));
        for (size_t i = 0; i < s->n_interfaces; i++)
                json_object_array_add(ifaces, json_object_new_string(s->interfaces[i].iface->name));
        json_object_object_add(p, "interfaces", ifaces);
        return varlink_call_reply(call, p);
}

static const char service_description[] =
        "interface org.varlink.service\n\n"
        "method GetInfo() -> (vendor: string, product: string, version: string, url: string, interfaces: []string)\n"
        "method GetInterfaceDescription(interface: string) -> (description: string)\n"
        "error InterfaceNotFound (interface: string)\n"
        "error MethodNotFound (method: string)\n"
        "error MethodNotImplemented (method: string)\n"
        "error InvalidParameter (parameter: string)\n"
        "error PermissionDenied ()\n"
        "error ExpectedMore ()\n";

static int service_get_interface_description(VarlinkServer *s, VarlinkCall *call, struct json_object *params) {
        struct json_object *v;
        const char *name, *desc = NULL;

        if (!json_object_object_get_ex(params, "interface", &v) || !json_object_is_type(v, json_type_string))
                return varlink_call_error_invalid_parameter(call, "interface");
        name = json_object_get_string(v);
        if (streq(name, "org.varlink.service"))
                desc = service_description;
        for (size_t i = 0; !desc && i < s->n_interfaces; i++)
                if (streq(s->interfaces[i].iface->name, name))
                        desc = s->interfaces[i].iface->description;
        if (!desc) {
                struct json_object *p = json_object_new_object();
                if (p)
                        json_object_object_add(p, "interface", json_object_new_string(name));
                return varlink_call_error(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, p);
        }
        struct json_object *p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "description", json_object_new_string(desc));
        return varlink_call_reply(call, p);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static bool get_bool(struct json_object *msg, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(msg, key, &v) && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static int dispatch(VarlinkConnection *c, struct json_object *msg) {
        VarlinkServer *s = c->server;
        struct json_object *v, *params = NULL;
        int r;

        if (!json_object_is_type(msg, json_type_object) || !json_object_object_get_ex(msg, "method", &v) ||
            !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        const char *method = json_object_get_string(v);

        VarlinkCall *call = calloc(1, sizeof(VarlinkCall));
        if (!call)
                return -ENOMEM;
        *call = (VarlinkCall) { .n_ref = 1, .connection = c, .more = get_bool(msg, "more"), .oneway = get_bool(msg, "oneway") };
        c->pending = call;
        varlink_call_ref(call); /* ours, for the duration of the dispatch */

        if (json_object_object_get_ex(msg, "parameters", &params) && !json_object_is_type(params, json_type_object)) {
                r = varlink_call_error_invalid_parameter(call, "parameters");
                goto finish;
        }
        struct json_object *empty = NULL;
        if (!params)
                params = empty = json_object_new_object();

        const char *dot = strrchr(method, '.');
        if (!dot || dot == method) {
                r = varlink_call_error(call, VARLINK_ERROR_METHOD_NOT_FOUND, NULL);
                json_object_put(empty);
                goto finish;
        }
        size_t ilen = (size_t) (dot - method);
        if (ilen == strlen("org.varlink.service") && strneq(method, "org.varlink.service", ilen)) {
                if (streq(dot + 1, "GetInfo"))
                        r = service_get_info(s, call);
                else if (streq(dot + 1, "GetInterfaceDescription"))
                        r = service_get_interface_description(s, call, params);
                else
                        r = varlink_call_error(call, VARLINK_ERROR_METHOD_NOT_FOUND, NULL);
                json_object_put(empty);
                goto finish;
        }
        size_t k;
        for (k = 0; k < s->n_interfaces; k++)
                if (strlen(s->interfaces[k].iface->name) == ilen && strneq(s->interfaces[k].iface->name, method, ilen))
                        break;
        if (k == s->n_interfaces) {
                struct json_object *p = json_object_new_object();
                _cleanup_free_ char *iface = strndup(method, ilen);
                if (p && iface)
                        json_object_object_add(p, "interface", json_object_new_string(iface));
                r = varlink_call_error(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, p);
                json_object_put(empty);
                goto finish;
        }
        const VarlinkMethod *m = s->interfaces[k].iface->methods;
        while (m->name && !streq(m->name, dot + 1))
                m++;
        if (!m->name) {
                struct json_object *p = json_object_new_object();
                if (p)
                        json_object_object_add(p, "method", json_object_new_string(method));
                r = varlink_call_error(call, VARLINK_ERROR_METHOD_NOT_FOUND, p);
        } else {
                r = m->callback(call, params, s->interfaces[k].userdata);
                if (r < 0 && !call->done)
                        r = varlink_call_error_errno(call, r);
        }
        json_object_put(empty);
finish:
        /* A oneway call is over once dispatched: nobody waits for an answer. */
        if (call->oneway && !call->done && call->connection && call->connection->pending == call) {
                call->done = true;
                call->connection->pending = NULL;
                varlink_call_unref(call);
        }
        varlink_call_unref(call);
        return r < 0 ? r : 0;
}

/* Handles every complete message in the input buffer, unless a call is still being answered. */
static void connection_process(VarlinkConnection *c) {
        while (!c->pending && c->out_size < OUTPUT_HIGH) {
                char *end = memchr(c->in, 0, c->in_size);
                if (!end)
                        break;
                size_t len = (size_t) (end - c->in);
                struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH_MAX);
                if (!tok) {
                        connection_free(c);
                        return;
                }
                struct json_object *msg = json_tokener_parse_ex(tok, c->in, (int) len);
                bool complete = msg && json_tokener_get_error(tok) == json_tokener_success &&
                                json_tokener_get_parse_end(tok) == len;
                json_tokener_free(tok);
                memmove(c->in, end + 1, c->in_size - len - 1);
                c->in_size -= len + 1;
                /* It spoke: no longer idle. */
                c->idle = sd_event_source_disable_unref(c->idle);
                if (!complete) {
                        /* Not a protocol we can talk: drop the connection, as the spec asks. */
                        json_object_put(msg);
                        connection_free(c);
                        return;
                }
                VarlinkServer *s = c->server;
                int r = dispatch(c, msg);
                json_object_put(msg);
                /* The connection may have been freed by a failed send during dispatch. */
                bool alive = false;
                VarlinkConnection *i;
                LIST_FOREACH(connections, i, s->connections)
                        alive = alive || i == c;
                if (!alive)
                        return;
                if (r == -EBADMSG) {
                        connection_free(c);
                        return;
                }
        }
        if (c->in_size == 0 && c->in_alloc > BUFFER_KEEP) {
                if (c->user)
                        c->user->in_bytes -= c->in_alloc;
                free(c->in);
                c->in = NULL;
                c->in_alloc = 0;
        }
        if (c->eof && !c->pending && c->out_size == 0) {
                connection_free(c);
                return;
        }
        connection_update_events(c);
}

static void connection_update_events(VarlinkConnection *c) {
        uint32_t events = 0;
        if (!c->pending && !c->eof && c->out_size < OUTPUT_HIGH)
                events |= EPOLLIN;
        if (c->out_size > 0)
                events |= EPOLLOUT;
        (void) sd_event_source_set_io_events(c->io, events);
        (void) sd_event_source_set_enabled(c->io, events ? SD_EVENT_ON : SD_EVENT_OFF);
        if (c->eof && !c->pending && c->out_size == 0 && c->defer)
                (void) sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

static int on_connection_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VarlinkConnection *c = userdata;

        if (revents & EPOLLOUT) {
                if (connection_flush(c) < 0) {
                        connection_free(c);
                        return 0;
                }
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                if (c->in_alloc - c->in_size < 64 * 1024) {
                        size_t a = c->in_alloc + 64 * 1024;
                        if (a > INPUT_MAX + 64 * 1024 ||
                            (c->user && c->user->in_bytes - c->in_alloc + a > BUFFERS_PER_UID_MAX)) {
                                connection_free(c);
                                return 0;
                        }
                        char *n = realloc(c->in, a);
                        if (!n) {
                                connection_free(c);
                                return 0;
                        }
                        if (c->user)
                                c->user->in_bytes = c->user->in_bytes - c->in_alloc + a;
                        c->in = n;
                        c->in_alloc = a;
                }
                ssize_t k = recv(fd, c->in + c->in_size, c->in_alloc - c->in_size, MSG_DONTWAIT);
                if (k < 0 && errno != EAGAIN && errno != EINTR) {
                        connection_free(c);
                        return 0;
                }
                if (k == 0)
                        c->eof = true;
                if (k > 0)
                        c->in_size += (size_t) k;
                if (c->in_size > INPUT_MAX && !memchr(c->in, 0, c->in_size)) {
                        connection_free(c);
                        return 0;
                }
        }
        connection_process(c);
        return 0;
}

static int on_connection_defer(sd_event_source *s, void *userdata) {
        connection_process(userdata);
        return 0;
}

static int on_connection_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        VarlinkConnection *c = userdata;
        log_debug("Closing Varlink connection of UID %u that sent no request.", (unsigned) c->peer.uid);
        connection_free(c);
        return 0;
}

static VarlinkUid *server_user(VarlinkServer *s, uid_t uid, bool create) {
        VarlinkUid *u;
        LIST_FOREACH(users, u, s->users)
                if (u->uid == uid)
                        return u;
        if (!create)
                return NULL;
        u = calloc(1, sizeof(VarlinkUid));
        if (!u)
                return NULL;
        u->uid = uid;
        LIST_PREPEND(users, s->users, u);
        return u;
}

static void server_user_release(VarlinkServer *s, VarlinkUid *u) {
        if (u->n_connections > 0)
                return;
        LIST_REMOVE(users, s->users, u);
        free(u);
}

static void connection_free(VarlinkConnection *c) {
        if (!c)
                return;
        if (c->pending) {
                /* Whoever answers later finds the connection gone and drops the answer. */
                c->pending->connection = NULL;
                c->pending = varlink_call_unref(c->pending);
        }
        LIST_REMOVE(connections, c->server->connections, c);
        c->server->n_connections--;
        if (c->user) {
                c->user->in_bytes -= c->in_alloc;
                c->user->out_bytes -= c->out_alloc;
                c->user->n_connections--;
                c->server->n_unprivileged--;
                server_user_release(c->server, c->user);
        }
        sd_event_source_disable_unref(c->idle);
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->defer);
        safe_close(c->fd);
        fds_close(c->out_fds, &c->n_out_fds);
        free(c->in);
        free(c->out);
        free(c);
}

static int on_accept_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        VarlinkServer *server = userdata;
        server->accept_retry = sd_event_source_disable_unref(server->accept_retry);
        (void) sd_event_source_set_enabled(server->accept_source, SD_EVENT_ON);
        return 0;
}

/* Out of descriptors: the pending connection stays in the backlog and the socket stays readable,
 * so accepting again at once would spin. Pause the socket for a moment instead. */
static void server_pause_accept(VarlinkServer *server, int error) {
        if (!server->accept_paused_logged)
                log_error_errno(error, "Failed to accept Varlink connection, pausing the socket: %m");
        server->accept_paused_logged = true;
        (void) sd_event_source_set_enabled(server->accept_source, SD_EVENT_OFF);
        if (!server->accept_retry &&
            sd_event_add_time_relative(server->event, &server->accept_retry, CLOCK_MONOTONIC, ACCEPT_RETRY_USEC, 0,
                                       on_accept_retry, server) < 0)
                (void) sd_event_source_set_enabled(server->accept_source, SD_EVENT_ON);
}

/* Whether one more connection of this peer is allowed. Descriptors count too: a non-root peer
 * may not take the last ones, which root's connections and the machines' pidfds need. */
static bool server_admit(VarlinkServer *server, int cfd, const struct ucred *peer) {
        if (server->n_connections >= CONNECTIONS_MAX)
                return false;
        if (peer->uid == 0)
                return true;
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur != RLIM_INFINITY) {
                rlim_t reserve = MIN(MAX(rl.rlim_cur / 8, (rlim_t) 16), (rlim_t) 256);
                /* accept() hands out the lowest free number: this one is near the end only if
                 * (nearly) everything below it is taken. */
                if ((rlim_t) cfd + reserve >= rl.rlim_cur)
                        return false;
        }
        if (server->n_unprivileged >= CONNECTIONS_MAX - CONNECTIONS_ROOT_RESERVE)
                return false;
        VarlinkUid *u = server_user(server, peer->uid, false);
        return !u || u->n_connections < CONNECTIONS_PER_UID_MAX;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VarlinkServer *server = userdata;
        struct ucred peer;
        socklen_t sl = sizeof(peer);
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        server_pause_accept(server, errno);
                return 0;
        }
        server->accept_paused_logged = false;
        /* Without credentials we cannot tell root from anyone: serve nobody on it. */
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &peer, &sl) < 0 || !server_admit(server, cfd, &peer)) {
                safe_close(cfd);
                return 0;
        }
        VarlinkConnection *c = calloc(1, sizeof(VarlinkConnection));
        if (!c) {
                safe_close(cfd);
                return 0;
        }
        c->server = server;
        c->fd = cfd;
        c->peer = peer;
        if (peer.uid != 0) {
                c->user = server_user(server, peer.uid, true);
                if (!c->user) {
                        free(c);
                        safe_close(cfd);
                        return 0;
                }
                c->user->n_connections++;
                server->n_unprivileged++;
        }
        LIST_PREPEND(connections, server->connections, c);
        server->n_connections++;
        if (sd_event_add_io(server->event, &c->io, cfd, EPOLLIN, on_connection_io, c) < 0 ||
            sd_event_add_defer(server->event, &c->defer, on_connection_defer, c) < 0 ||
            sd_event_add_time_relative(server->event, &c->idle, CLOCK_MONOTONIC, IDLE_TIMEOUT_USEC, 0,
                                       on_connection_idle, c) < 0) {
                connection_free(c);
                return 0;
        }
        (void) sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
        return 0;
}

int varlink_server_new(sd_event *event, const char *path, mode_t mode, const VarlinkServerInfo *info, VarlinkServer **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        VarlinkServer *s = calloc(1, sizeof(VarlinkServer));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->info = *info;
        s->path = strdup(path);
        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (!s->path || s->fd < 0) {
                r = s->fd < 0 ? negative_errno() : -ENOMEM;
                goto fail;
        }
        /* A stale socket of a previous instance: we own this path. */
        (void) unlink(path);
        mode_t old = umask(0777 & ~mode);
        r = bind(s->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? negative_errno() : 0;
        umask(old);
        if (r < 0)
                goto fail;
        if (listen(s->fd, SOMAXCONN) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = sd_event_add_io(event, &s->accept_source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        varlink_server_free(s);
        return r;
}

int varlink_server_add_interface(VarlinkServer *s, const VarlinkInterface *iface, void *userdata) {
        if (s->n_interfaces >= INTERFACES_MAX)
                return -E2BIG;
        s->interfaces[s->n_interfaces].iface = iface;
        s->interfaces[s->n_interfaces].userdata = userdata;
        s->n_interfaces++;
        return 0;
}

VarlinkServer *varlink_server_free(VarlinkServer *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        sd_event_source_disable_unref(s->accept_source);
        sd_event_source_disable_unref(s->accept_retry);
        while (s->users) {
                VarlinkUid *u = s->users;
                LIST_REMOVE(users, s->users, u);
                free(u);
        }
        safe_close(s->fd);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
