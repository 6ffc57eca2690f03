/* curlev: drive libcurl's multi-socket API from a libevent event_base. */
#ifndef TWA_CURLEV_H
#define TWA_CURLEV_H

#include <curl/curl.h>
#include <event2/event.h>

struct curlev;

/*
 * Called once when a transfer added with curlev_add finishes (result is
 * CURLE_OK or the transfer's error). The easy handle has already been
 * removed from the multi handle; the callback owns it again and may free
 * it, re-add it, or add other transfers.
 */
typedef void (*curlev_done_cb)(CURL *easy, CURLcode result, void *arg);

/*
 * A bridge between one curl multi handle and base. Never blocks: sockets
 * and timers are libevent events. Caller frees with curlev_free. Returns
 * NULL and an allocated cause if curl cannot make a multi handle.
 */
struct curlev *curlev_new(struct event_base *base, char **cause);
/*
 * Free the bridge. Transfers still running are removed and their easy
 * handles cleaned up without calling their callbacks. NULL is a no-op.
 */
void curlev_free(struct curlev *c);
/*
 * Start a transfer; done is called exactly once when it finishes, from the
 * event loop (never from inside curlev_add). Returns 0, or -1 and an
 * allocated cause (the easy handle stays the caller's).
 */
int curlev_add(struct curlev *c, CURL *easy, curlev_done_cb done, void *arg,
    char **cause);
/*
 * Stop a running transfer without calling its callback; the easy handle is
 * the caller's again. Unknown handles are ignored.
 */
void curlev_remove(struct curlev *c, CURL *easy);
/* Number of transfers running. */
unsigned curlev_running(const struct curlev *c);
/* The event_base the bridge runs on. */
struct event_base *curlev_base(const struct curlev *c);

#endif
