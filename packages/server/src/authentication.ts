/**
 * The optional bearer token every endpoint checks (RFC 6750): the `Authorization: Bearer <token>`
 * header, or an `access_token` query parameter where a browser cannot set headers (opening the
 * web page, `EventSource`). Compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * A checker for `token`.
 *
 * @example
 * ```ts
 * const allowed = tokenChecker('s3cret');
 * allowed('Bearer s3cret', undefined); // true
 * ```
 */
export function tokenChecker(token: string): (authorization: string | undefined, accessToken: unknown) => boolean {
  const expected = digest(token);
  return (authorization, accessToken) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    const given = match ? match[1]!.trim() : typeof accessToken === 'string' ? accessToken : undefined;
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
}
