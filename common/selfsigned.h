/*
 * selfsigned: the webhook's own CA and serving certificate (ECDSA P-256),
 * and the decision when to renew them. Pure apart from randomness: the
 * time is always an argument.
 */
#ifndef TWA_SELFSIGNED_H
#define TWA_SELFSIGNED_H

#include <stddef.h>
#include <stdint.h>

/* Default lifetimes. */
#define SELFSIGNED_CA_DAYS	3650
#define SELFSIGNED_LEAF_DAYS	365

/*
 * One certificate set as PEM text (plain data; strings owned, NULL when
 * absent). ca_cert may hold more than one certificate while a new CA takes
 * over: the first is the one that signs, the others are kept trusted.
 */
struct selfsigned_pem {
	char	*ca_cert;
	char	*ca_key;
	char	*cert;
	char	*key;
};

/* What an existing set needs. */
enum selfsigned_state {
	SELFSIGNED_OK,		/* valid, covers the names, not near expiry */
	SELFSIGNED_RENEW_LEAF,	/* issue a new serving certificate from the CA */
	SELFSIGNED_RENEW_ALL,	/* make a new CA (and serving certificate) */
};

/*
 * Make a new CA valid for ca_days and a serving certificate for the DNS
 * names[0..n) valid for days, both starting an hour before now (seconds
 * since the epoch). When old is not NULL and its CA is still valid at now,
 * it stays in ca_cert after the new CA so that certificates it signed keep
 * working until every replica has moved. Returns 0, or -1 and a cause.
 * Free out with selfsigned_clear.
 */
int selfsigned_create(const char *const *names, size_t n, int64_t now,
    int ca_days, int days, const struct selfsigned_pem *old,
    struct selfsigned_pem *out, char **cause);
/*
 * Issue a new serving certificate and key for names from the CA in set
 * (set->cert and set->key are replaced). Returns 0, or -1 and a cause.
 */
int selfsigned_renew_leaf(struct selfsigned_pem *set, const char *const *names,
    size_t n, int64_t now, int days, char **cause);
/*
 * Decide what set needs at now: RENEW_ALL when anything is missing or
 * broken or the CA has less than a third of its life left; RENEW_LEAF
 * when the serving certificate has less than a third of its life left, is
 * not signed by the CA or does not cover every name. *reason gets an
 * allocated explanation (also for OK).
 */
enum selfsigned_state selfsigned_check(const struct selfsigned_pem *set,
    const char *const *names, size_t n, int64_t now, char **reason);
/* Deep copy src into dst. */
void selfsigned_copy(struct selfsigned_pem *dst, const struct selfsigned_pem *src);
/* Free the strings of p and zero it. */
void selfsigned_clear(struct selfsigned_pem *p);

#endif
