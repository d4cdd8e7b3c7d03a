// The client's address for per-IP rate limits (sign-in, sign-up). `next start` hands route handlers only headers,
// and it fills X-Forwarded-For from the socket only when the client sent none (`??=`), so that header is whatever
// the client wants it to be. The socket address is taken where Node publishes it instead: the
// `http.server.request.start` diagnostics channel runs synchronously before the server's request listener, and
// the subscriber (registered once per process from src/instrumentation.ts) writes the peer address into a header
// whose name is random per process, overwriting anything the client sent under that name.
// X-Forwarded-For counts only as far as the operator says proxies are trusted (LIKEWISE_TRUST_PROXY = hops).
import { randomBytes } from "node:crypto";
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import type { Socket } from "node:net";

const g = globalThis as unknown as { __likewisePeerHeader?: string; __likewisePeerListener?: unknown };

/** The key of requests whose socket address is not known (served before the subscriber was registered). */
export const UNKNOWN_ADDRESS = "unknown";

/**
 * Records every incoming request's socket address in a private header from now on (idempotent; one per process).
 * Returns the header's name.
 */
export function recordPeerAddresses(): string {
  if (g.__likewisePeerHeader) return g.__likewisePeerHeader;
  const name = `x-likewise-peer-${randomBytes(12).toString("hex")}`;
  const listener = (message: unknown) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    request.headers[name] = socket.remoteAddress ?? "";
  };
  subscribe("http.server.request.start", listener);
  g.__likewisePeerListener = listener; // keep the subscriber reachable for the life of the process
  g.__likewisePeerHeader = name;
  return name;
}

/** The socket address recorded for this request, or null when none was (no subscriber yet, or not over HTTP). */
export function peerAddress(headers: Headers): string | null {
  const name = g.__likewisePeerHeader;
  return (name && headers.get(name)) || null;
}

/**
 * The address a per-IP limit keys on. With `trustedHops` = 0 it is the socket's peer; with N trusted reverse
 * proxies in front, the proxy next to us is the peer and each proxy appends the address it saw, so the client is
 * the N-th X-Forwarded-For entry counted from the right (entries further left are the client's own claims). When
 * there are fewer entries than trusted hops, the left-most one. IPv6 addresses key on their /64 (one host usually
 * owns a whole /64); IPv4-mapped IPv6 is plain IPv4.
 */
export function clientAddress(peer: string | null, forwardedFor: string | null, trustedHops: number): string {
  if (!peer) return UNKNOWN_ADDRESS;
  if (trustedHops <= 0) return addressKey(peer);
  const hops = (forwardedFor ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const chain = [...hops, peer];
  return addressKey(chain[Math.max(0, chain.length - 1 - trustedHops)] ?? peer);
}

/** One bucket key per client: "1.2.3.4", "2001:db8:0:1::/64"; anything that is not an address is kept (bounded). */
export function addressKey(raw: string): string {
  const s = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s); // "[v6]:port" (some proxies keep the port)
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(s); // "v4:port"
  const addr = bracketed?.[1] ?? withPort?.[1] ?? s;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(addr);
  if (mapped?.[1]) return mapped[1];
  const kind = isIP(addr);
  if (kind === 4) return addr;
  if (kind === 6) return `${ipv6Groups(addr).slice(0, 4).join(":")}::/64`;
  return s.slice(0, 100);
}

/** The eight 16-bit groups of a valid IPv6 address, as lower-case hex without leading zeros. */
function ipv6Groups(addr: string): string[] {
  const noZone = addr.split("%")[0] ?? addr;
  // A trailing dotted IPv4 part stands for the last two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(noZone);
  const hex = v4
    ? noZone.slice(0, v4.index) +
      [
        ((Number(v4[1]) << 8) | Number(v4[2])).toString(16),
        ((Number(v4[3]) << 8) | Number(v4[4])).toString(16),
      ].join(":")
    : noZone;
  const [head = "", tail] = hex.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((g16) => parseInt(g16, 16).toString(16));
}
