/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Intrusive doubly linked lists: an object embeds LIST_FIELDS(Type, name) and can then sit in one
 * list per name without extra allocations, and remove itself in O(1) without knowing its index. */

#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_PREPEND(name, head, item)                                     \
        do {                                                               \
                __typeof__(*(head)) **_head = &(head), *_item = (item);    \
                _item->name##_prev = NULL;                                 \
                _item->name##_next = *_head;                               \
                if (*_head)                                                \
                        (*_head)->name##_prev = _item;                     \
                *_head = _item;                                            \
        } while (0)

#define LIST_REMOVE(name, head, item)                                      \
        do {                                                               \
                __typeof__(*(head)) **_head = &(head), *_item = (item);    \
                if (_item->name##_next)                                    \
                        _item->name##_next->name##_prev = _item->name##_prev; \
                if (_item->name##_prev)                                    \
                        _item->name##_prev->name##_next = _item->name##_next; \
                else if (*_head == _item)                                  \
                        *_head = _item->name##_next;                       \
                _item->name##_next = _item->name##_prev = NULL;            \
        } while (0)

#define LIST_FOREACH(name, i, head) for ((i) = (head); (i); (i) = (i)->name##_next)

/* Safe against removal of the current element. */
#define LIST_FOREACH_SAFE(name, i, n, head) \
        for ((i) = (head); (i) && (((n) = (i)->name##_next), 1); (i) = (n))
