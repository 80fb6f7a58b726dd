import { randomBytes } from "node:crypto";
import type { Context } from "koa";
import { secretMatches, sign } from "./tokens.js";

/** The form page's session cookie, and the hidden field that carries its token in every form. */
export const FORM_COOKIE = "iris_form_session";
export const FORM_TOKEN_FIELD = "form_token";

const SESSION = /^[\w-]{24}$/;

/** Tells the service's own form posts from a program's (or another site's) requests. */
export interface FormTokens {
  /** The token the page's forms carry; gives this browser a session cookie if it has none. */
  issue(ctx: Context): string;
  /** True when `value` is the token of the session cookie this request carries. */
  verify(ctx: Context, value: unknown): boolean;
}

/**
 * Per-session form tokens (signed double-submit): the form page sets a random session id in an
 * HttpOnly, SameSite=Strict cookie and puts HMAC(key, session id) in a hidden field. A form post
 * passes only with both, and they must agree. Another site's page cannot read the cookie or the
 * page, and with SameSite=Strict the browser does not even send the cookie on its posts, so a
 * cross-site form post never passes; a script that wants to submit must use the JSON API (and,
 * with API_TOKENS set, a token).
 *
 * The key is derived from API_TOKENS, which every web process of a deployment shares, so a token
 * issued by one process verifies on any other (no sticky sessions). The check is only enforced
 * with API_TOKENS set (see app/routes/predict-post.ts); without them everything is open anyway.
 */
export function formTokens(apiTokens: readonly string[]): FormTokens {
  const key = `iris-form:${[...apiTokens].sort().join("\n")}`;
  return {
    issue(ctx) {
      let session = ctx.cookies.get(FORM_COOKIE);
      if (!session || !SESSION.test(session)) {
        session = randomBytes(18).toString("base64url");
        ctx.cookies.set(FORM_COOKIE, session, { httpOnly: true, sameSite: "strict", path: "/", secure: ctx.secure, overwrite: true });
      }
      return sign(key, session);
    },
    verify(ctx, value) {
      const session = ctx.cookies.get(FORM_COOKIE);
      if (!session || !SESSION.test(session) || typeof value !== "string") return false;
      return secretMatches([sign(key, session)], value);
    },
  };
}
