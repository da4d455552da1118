#include "util/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>

struct bb_sha256 {
    EVP_MD_CTX *md;
};

bb_err bb_sha256_new(bb_sha256 **out)
{
    *out = NULL;
    bb_sha256 *h = malloc(sizeof *h);
    if (!h)
        return BB_ERR_NOMEM;
    h->md = EVP_MD_CTX_new();
    if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->md);
        free(h);
        return BB_ERR_INTERNAL;
    }
    *out = h;
    return BB_OK;
}

void bb_sha256_free(bb_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

bb_err bb_sha256_update(bb_sha256 *h, const void *p, size_t n)
{
    return EVP_DigestUpdate(h->md, p, n) == 1 ? BB_OK : BB_ERR_INTERNAL;
}

bb_err bb_sha256_hex(bb_sha256 *h, char out[static 65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->md, md, &n) != 1 || n != 32)
        return BB_ERR_INTERNAL;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return BB_OK;
}

bb_err bb_sha256_of(const void *p, size_t n, char out[static 65])
{
    bb_sha256 *h;
    bb_err e = bb_sha256_new(&h);
    if (e != BB_OK)
        return e;
    e = bb_sha256_update(h, p, n);
    if (e == BB_OK)
        e = bb_sha256_hex(h, out);
    bb_sha256_free(h);
    return e;
}

const char *bb_sha256_library_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}
