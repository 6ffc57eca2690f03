/* Fuzz target: the AdmissionReview handler of the webhook, both endpoints. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "test_webhook_apply.h"
#include "webhook.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The patch of an AdmissionReview response, decoded; NULL when it has none. */
static json_t *
decode_patch(const json_t *resp)
{
	const char *b64 = json_string_value(json_object_get(resp, "patch"));
	unsigned char *buf;
	json_t *p;
	int n;

	if (b64 == NULL)
		return NULL;
	buf = xmalloc(strlen(b64) + 1);
	n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)strlen(b64));
	if (n <= 0)
		abort();
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	p = json_loadb((char *)buf, (size_t)n, 0, NULL);
	free(buf);
	if (!json_is_array(p) || json_array_size(p) == 0)
		abort();
	return p;
}

/*
 * Input: any bytes, answered as a review by /mutate and by /validate. The
 * first byte picks the Kubernetes version. Properties: the body is JSON;
 * a 400 is a Status; a 200 echoes the request's uid; a patch applies to
 * the request's object, and the patched pod needs no further patch.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webhook_config cfg = {
		.agent_image = "twa:fuzz", .agent_cpu = "50m",
		.agent_memory = "64Mi", .agent_log_level = "info",
		.temporal_address = size > 0 && data[0] & 1 ? "t:7233" : NULL,
		.agent_port = 9464, .server_major = 1,
		.server_minor = size > 0 && data[0] & 2 ? 29 : 28,
	};

	for (int kind = 0; kind < 2; kind++) {
		struct webhook_reply rep;
		json_t *root, *resp, *top = NULL, *req, *patch, *pod, *again;
		char *cause = NULL;
		const char *ns;

		webhook_handle((enum webhook_kind)kind, (const char *)data, size,
		    &cfg, &rep);
		root = json_loadb(rep.body, rep.len, 0, NULL);
		if (root == NULL || rep.len != strlen(rep.body))
			abort();
		if (rep.http_status == 400) {
			if (rep.result != WEBHOOK_BAD_REQUEST || strcmp(json_string_value(
			    json_object_get(root, "kind")), "Status") != 0 ||
			    rep.message == NULL || *rep.message == '\0')
				abort();
			goto next;
		}
		if (rep.http_status != 200)
			abort();
		resp = json_object_get(root, "response");
		top = json_loadb((const char *)data, size, 0, NULL);
		req = json_object_get(top, "request");
		if (req == NULL || strcmp(json_string_value(json_object_get(resp,
		    "uid")), json_string_value(json_object_get(req, "uid"))) != 0)
			abort();
		if (rep.result == WEBHOOK_DENIED && (json_is_true(json_object_get(resp,
		    "allowed")) || rep.message == NULL))
			abort();
		patch = decode_patch(resp);
		if ((patch != NULL) != (rep.result == WEBHOOK_PATCHED) ||
		    (patch != NULL && kind != WEBHOOK_MUTATE))
			abort();
		if (patch != NULL) {
			pod = json_deep_copy(json_object_get(req, "object"));
			if (apply_patch(pod, patch, &cause) != 0)
				abort();	/* the API server would refuse it */
			ns = json_string_value(json_object_get(req, "namespace"));
			if (ns == NULL || *ns == '\0')
				ns = json_string_value(json_object_get(json_object_get(
				    pod, "metadata"), "namespace"));
			again = webhook_mutate_pod(pod, ns, &cfg, &cause);
			if (again == NULL || json_array_size(again) != 0)
				abort();	/* not idempotent */
			json_decref(again);
			json_decref(pod);
			json_decref(patch);
		}
next:
		json_decref(top);
		json_decref(root);
		webhook_reply_clear(&rep);
	}
	return 0;
}
