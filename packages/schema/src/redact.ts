/**
 * Drops what could be a token or the API secret from text relayed from LiveKit, k6 or a client SDK
 * before it reaches a terminal or a log: an `access_token=` query value, any JWT (`eyJ...`, three
 * base64url parts) and the secret itself. A wrong secret's rejection quoted the whole token LiveKit
 * refused, signed with the secret the user gave and good for ten minutes.
 */
export function redactSecrets(text: string, secret = ""): string {
  const out = text
    .replace(/access_token=[^&\s"']+/g, "access_token=REDACTED")
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, "REDACTED");
  return secret === "" ? out : out.split(secret).join("REDACTED");
}
