import { describe, expect, it } from "vitest";
import { redactSecrets } from "./redact.js";

describe("redactSecrets", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6eyJyb29tTGlzdCI6dHJ1ZX19.c2lnbmF0dXJl-_x";

  it("drops a JWT wherever it stands, an access_token value and the secret", () => {
    expect(
      redactSecrets(
        `twirp error unauthenticated: invalid token: ${jwt}, error: go-jose/go-jose: error in cryptographic primitive`,
      ),
    ).toBe(
      "twirp error unauthenticated: invalid token: REDACTED, error: go-jose/go-jose: error in cryptographic primitive",
    );
    expect(redactSecrets("GET ws://h/rtc?access_token=abc.def&auto_subscribe=1")).toBe(
      "GET ws://h/rtc?access_token=REDACTED&auto_subscribe=1",
    );
    expect(redactSecrets("the secret s3cr3t leaked twice: s3cr3t", "s3cr3t")).toBe(
      "the secret REDACTED leaked twice: REDACTED",
    );
  });

  it("leaves other text alone, and an empty secret redacts nothing more", () => {
    expect(redactSecrets("eyJ alone is not a token; a.b.c neither", "")).toBe(
      "eyJ alone is not a token; a.b.c neither",
    );
  });

  it("cleans a k6 log line: the token in a dial URL, a bare JWT, the secret", () => {
    const line =
      "WARN dial ws://h:7880/rtc?access_token=eyJhbGciOi.eyJzdWIi.c2ln&protocol=16 secret s3cr3t and eyJa.eyJb.sig";
    const out = redactSecrets(line, "s3cr3t");
    expect(out).not.toContain("eyJ");
    expect(out).not.toContain("s3cr3t");
    expect(out).toContain("access_token=REDACTED&protocol=16");
  });
});
