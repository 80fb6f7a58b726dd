import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * The one place that compares secrets. Both sides are hashed to 32 bytes first, so the
 * comparison takes the same time whatever the lengths, and every configured token is compared
 * (no early exit), so the time does not tell which one matched or how many there are.
 */
const digest = (s: string) => createHash("sha256").update(s).digest();

/** True when `candidate` equals one of `secrets`. */
export function secretMatches(secrets: readonly string[], candidate: string): boolean {
  const d = digest(candidate);
  let found = false;
  for (const s of secrets) found = timingSafeEqual(digest(s), d) || found;
  return found;
}

/** HMAC-SHA256 of `message` under `key`, base64url: a value that proves knowledge of `key` without revealing it. */
export function sign(key: string, message: string): string {
  return createHmac("sha256", key).update(message).digest("base64url");
}
