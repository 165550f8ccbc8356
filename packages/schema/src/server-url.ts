/**
 * What is wrong with a LiveKit server URL as given (--url, LIVEKIT_URL, a drill's target), or
 * undefined: a ws://, wss://, http:// or https:// URL with a host and a port from 1 to 65535, and no
 * whitespace or control character (the URL parser drops a newline silently, and a rendered manifest
 * then carried it). `http://` and a port of 99999 were blamed on the API key.
 */
export function serverUrlProblem(url: string): string | undefined {
  if (/[\p{Cc}\s]/u.test(url)) return "whitespace or a control character in it";
  if (!/^(wss?|https?):\/\//i.test(url)) return "expected ws://, wss://, http:// or https://";
  if (!URL.canParse(url)) return "not a URL: expected a host, and a port from 1 to 65535";
  const parsed = new URL(url);
  if (parsed.hostname === "") return "no host";
  if (parsed.port === "0") return "port 0: expected a port from 1 to 65535";
  return undefined;
}
