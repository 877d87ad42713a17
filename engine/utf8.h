/* utf8.h — UTF-8 validation, repair and encoding helpers.
 *
 * Internal to the engine. "Valid" means well-formed UTF-8 as Unicode defines
 * it: no overlong forms, no surrogates, nothing above U+10FFFF. Repair replaces
 * each maximal invalid subpart with U+FFFD, the same rule as Python's
 * bytes.decode("utf-8", errors="replace").
 */
#ifndef LENS_UTF8_H
#define LENS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length in bytes of the longest valid UTF-8 prefix of s[0..len); equal to len
 * when the whole string is valid. */
size_t lens_utf8_valid_prefix(const char *s, size_t len);

/* A malloc'd, NUL-terminated copy of s[0..len) with invalid sequences replaced
 * by U+FFFD; *out_len (may be NULL) gets its length. NULL when out of memory. */
char *lens_utf8_repair(const char *s, size_t len, size_t *out_len);

/* Writes code point cp (<= 0x10FFFF) as UTF-8 into out; returns the byte count. */
int lens_utf8_encode(uint32_t cp, char out[4]);

/* Decodes one code point from valid UTF-8 at s (len bytes available); returns its
 * byte count and stores the code point in *cp, or 0 when s does not start with a
 * valid sequence. */
int lens_utf8_decode(const char *s, size_t len, uint32_t *cp);

#endif
