/*
 * webhook_ca: `twa webhook --self-signed`. Keeps the CA and serving
 * certificate in a Secret (created by whichever replica comes first,
 * renewed before expiry with conditional writes) and the caBundle of the
 * twa Mutating- and ValidatingWebhookConfiguration equal to the Secret's
 * CA, then hands the certificate to serve to its caller.
 */
#ifndef TWA_WEBHOOK_CA_H
#define TWA_WEBHOOK_CA_H

#include <stddef.h>
#include <stdint.h>

#include "kube.h"
#include "selfsigned.h"

/* Where the certificates live (plain data; strings borrowed, copied by new). */
struct webhook_ca_config {
	const char		*namespace;	/* of the Secret */
	const char		*secret;	/* Secret name */
	const char		*webhook_config; /* both configurations' name */
	const char *const	*names;		/* DNS names of the Service */
	size_t			 nnames;
	int64_t			 resync_ms;	/* look again this often */
	int			 ca_days, leaf_days;
};

/* Counters for /metrics (plain data). */
struct webhook_ca_stats {
	uint64_t	syncs;		/* passes completed */
	uint64_t	secret_writes;	/* Secret created or renewed */
	uint64_t	conflicts;	/* writes lost to another replica */
	uint64_t	bundle_patches;	/* caBundle patches applied */
	uint64_t	errors;		/* API errors */
};

/*
 * Called when the Secret holds a set to serve, after the caBundles were
 * brought up to date (or could not be; errors are logged). set is
 * borrowed for the call. Called again on every pass; compare to skip.
 */
typedef void (*webhook_ca_serve_cb)(const struct selfsigned_pem *set, void *arg);

struct webhook_ca;

/* Start keeping certificates with client k (borrowed). Caller frees. */
struct webhook_ca *webhook_ca_new(struct kube *k,
    const struct webhook_ca_config *cfg, webhook_ca_serve_cb cb, void *arg);
/* Stop: cancel what is in flight and free. NULL is a no-op. */
void webhook_ca_free(struct webhook_ca *ca);
/* Counters so far. */
void webhook_ca_stats(const struct webhook_ca *ca, struct webhook_ca_stats *out);

#endif
