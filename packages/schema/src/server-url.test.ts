import { describe, expect, it } from "vitest";
import { serverUrlProblem } from "./server-url.js";

describe("serverUrlProblem", () => {
  it("takes a LiveKit server's URL", () => {
    for (const url of [
      "ws://127.0.0.1:7880",
      "wss://lk.example.com",
      "https://lk.example.com/",
      "http://[::1]:7880",
    ])
      expect(serverUrlProblem(url), url).toBeUndefined();
  });

  it.each([
    ["http://", "not a URL: expected a host, and a port from 1 to 65535"],
    ["ws://127.0.0.1:99999", "not a URL: expected a host, and a port from 1 to 65535"],
    ["ws://127.0.0.1:0", "port 0: expected a port from 1 to 65535"],
    ["ws://lk.example.com\n", "whitespace or a control character in it"],
    ["ws://lk example.com", "whitespace or a control character in it"],
    ["ftp://lk.example.com", "expected ws://, wss://, http:// or https://"],
    ["lk.example.com:7880", "expected ws://, wss://, http:// or https://"],
  ])("names what is wrong with %j", (url, problem) => {
    expect(serverUrlProblem(url)).toBe(problem);
  });
});
