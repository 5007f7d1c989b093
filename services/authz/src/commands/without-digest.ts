/**
 * A token or job as a reply shows it: without the SHA-256 of its secret, which only the store and
 * the events carry (the plaintext is in the reply that mints it, once).
 */
export function withoutDigest<T extends { token_sha256: string }>(entity: T): Omit<T, "token_sha256"> {
  const { token_sha256: _digest, ...rest } = entity;
  return rest;
}
