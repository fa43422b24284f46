// FUZZ-BUILD: daemon/registry_parse.c common/util.c common/log.c -Idaemon $(pkg-config --cflags libevent)
/*
 * fuzz_registry: the seed's registration format.  The input is a key and
 * a value separated by the first newline.  Beyond not crashing: an
 * accepted registration has a name that fits a backend name and starts
 * etcd:, an address that parses again to itself, and a non-empty regex
 * with no NUL; a refused one says why.
 */
#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	const char *key = (const char *)data, *val;
	size_t keylen, vallen;
	struct reg_value v;
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[256], again[CONF_ADDR_MAX];

	if (nl == NULL)
		return 0;
	keylen = (size_t)(nl - key);
	val = nl + 1;
	vallen = size - keylen - 1;
	err[0] = '\0';
	if (reg_parse("/dnsrouter/", key, keylen, val, vallen, &v, err,
	    sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (strncmp(v.name, REG_NAME_PREFIX, strlen(REG_NAME_PREFIX)) != 0 ||
	    strlen(v.name) >= CONF_NAME_MAX || v.pattern[0] == '\0' ||
	    strlen(v.pattern) > REG_PATTERN_MAX)
		abort();
	if (addr_parse(v.addr, 53, &ss, &sl, err, sizeof(err)) == -1)
		abort();
	addr_fmt((struct sockaddr *)&ss, again, sizeof(again));
	if (strcmp(again, v.addr) != 0)
		abort();
	return 0;
}
