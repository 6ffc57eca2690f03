/* curlev: drive libcurl's multi-socket API from a libevent event_base. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "curlev.h"
#include "xalloc.h"

/* One running transfer. */
struct curlev_xfer {
	CURL			*easy;
	curlev_done_cb		 done;
	void			*arg;
	struct curlev		*c;
	struct curlev_xfer	*next, *prev;
};

/* One socket curl asked us to watch. */
struct curlev_sock {
	struct event		*ev;
	curl_socket_t		 fd;
	struct curlev		*c;
};

struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct event		*kick;
	struct curlev_xfer	*xfers;
	unsigned		 nxfers;
	int			 running;
	bool			 in_action;
};

static void curlev_check_done(struct curlev *c);

/* Tell curl about socket activity or a timeout, then reap finished transfers. */
static void
curlev_action(struct curlev *c, curl_socket_t fd, int what)
{
	c->in_action = true;
	curl_multi_socket_action(c->multi, fd, what, &c->running);
	c->in_action = false;
	curlev_check_done(c);
}

/* libevent callback for a socket curl watches. */
static void
curlev_sock_cb(evutil_socket_t fd, short events, void *arg)
{
	struct curlev_sock *s = arg;
	int what = 0;

	if (events & EV_READ)
		what |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		what |= CURL_CSELECT_OUT;
	curlev_action(s->c, (curl_socket_t)fd, what);
}

/* libevent callback for curl's single timer. */
static void
curlev_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	curlev_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* Deferred start: lets curlev_add return before anything completes. */
static void
curlev_kick_cb(evutil_socket_t fd, short events, void *arg)
{
	curlev_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: (re)arm or drop the event for one socket. */
static int
curlev_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct curlev *c = userp;
	struct curlev_sock *s = socketp;
	short flags = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		flags |= EV_READ;
	if (what & CURL_POLL_OUT)
		flags |= EV_WRITE;
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->c = c;
		s->fd = fd;
		curl_multi_assign(c->multi, fd, s);
	} else
		event_free(s->ev);
	s->ev = event_new(c->base, fd, flags, curlev_sock_cb, s);
	if (s->ev == NULL)
		abort();
	event_add(s->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: arm or disarm the single timer. */
static int
curlev_timerfn_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *c = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	return 0;
}

/* Unlink a transfer record. */
static void
curlev_unlink(struct curlev *c, struct curlev_xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		c->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	c->nxfers--;
}

/* Remove every finished transfer from the multi handle and call its callback. */
static void
curlev_check_done(struct curlev *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct curlev_xfer *x = NULL;
		CURL *easy;
		CURLcode rc;

		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		rc = m->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(c->multi, easy);
		if (x == NULL)
			continue;
		curlev_unlink(c, x);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		x->done(easy, rc, x->arg);
		free(x);
	}
}

/* Make a bridge; caller frees. */
struct curlev *
curlev_new(struct event_base *base, char **cause)
{
	struct curlev *c = xcalloc(1, sizeof *c);

	c->base = base;
	c->multi = curl_multi_init();
	if (c->multi == NULL) {
		*cause = xstrdup("curl_multi_init failed");
		free(c);
		return NULL;
	}
	c->timer = evtimer_new(base, curlev_timer_cb, c);
	c->kick = evtimer_new(base, curlev_kick_cb, c);
	if (c->timer == NULL || c->kick == NULL)
		abort();
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curlev_socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curlev_timerfn_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

/* Free the bridge and every running transfer, without callbacks. */
void
curlev_free(struct curlev *c)
{
	if (c == NULL)
		return;
	while (c->xfers != NULL) {
		struct curlev_xfer *x = c->xfers;
		CURL *easy = x->easy;

		curlev_remove(c, easy);
		curl_easy_cleanup(easy);
	}
	curl_multi_cleanup(c->multi);
	event_free(c->timer);
	event_free(c->kick);
	free(c);
}

/* Start a transfer. */
int
curlev_add(struct curlev *c, CURL *easy, curlev_done_cb done, void *arg,
    char **cause)
{
	struct curlev_xfer *x = xcalloc(1, sizeof *x);
	struct timeval zero = { 0, 0 };
	CURLMcode rc;

	x->easy = easy;
	x->done = done;
	x->arg = arg;
	x->c = c;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	rc = curl_multi_add_handle(c->multi, easy);
	if (rc != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		*cause = xasprintf("curl_multi_add_handle: %s",
		    curl_multi_strerror(rc));
		return -1;
	}
	x->next = c->xfers;
	if (c->xfers != NULL)
		c->xfers->prev = x;
	c->xfers = x;
	c->nxfers++;
	/* curl arms its timer for the new handle; make sure the loop runs it soon. */
	if (!c->in_action)
		evtimer_add(c->kick, &zero);
	return 0;
}

/* Stop a transfer without its callback. */
void
curlev_remove(struct curlev *c, CURL *easy)
{
	struct curlev_xfer *x = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (x == NULL || x->c != c)
		return;
	curl_multi_remove_handle(c->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	curlev_unlink(c, x);
	free(x);
}

/* Number of running transfers. */
unsigned
curlev_running(const struct curlev *c)
{
	return c->nxfers;
}

/* The event_base of the bridge. */
struct event_base *
curlev_base(const struct curlev *c)
{
	return c->base;
}
