import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { addressKey, clientAddress, recordPeerAddresses, UNKNOWN_ADDRESS } from "./client-address";
import { createRateLimiters } from "./rate-limit";
import { clientIp } from "./runtime";

describe("clientAddress", () => {
  it("with no proxy trusted is the socket's peer, whatever X-Forwarded-For says", () => {
    expect(clientAddress("192.0.2.1", null, 0)).toBe("192.0.2.1");
    expect(clientAddress("192.0.2.1", "203.0.113.9", 0)).toBe("192.0.2.1");
    expect(clientAddress("192.0.2.1", "203.0.113.9, 192.0.2.1", 0)).toBe("192.0.2.1");
    expect(clientAddress(null, "203.0.113.9", 0)).toBe(UNKNOWN_ADDRESS);
    expect(clientAddress(null, "203.0.113.9", 2)).toBe(UNKNOWN_ADDRESS);
  });

  it("with N trusted proxies is the N-th X-Forwarded-For entry from the right", () => {
    // client → proxy 10.0.0.1 → us: the proxy appended the client's address.
    expect(clientAddress("10.0.0.1", "198.51.100.7", 1)).toBe("198.51.100.7");
    // Anything the client itself sent is to the left of it and ignored.
    expect(clientAddress("10.0.0.1", "evil, 203.0.113.5, 198.51.100.7", 1)).toBe("198.51.100.7");
    // client → CDN → load balancer 10.0.0.2 → us.
    expect(clientAddress("10.0.0.2", "forged, 198.51.100.7, 172.16.0.3", 2)).toBe("198.51.100.7");
    // Fewer entries than trusted hops (a request that skipped a proxy): the left-most one.
    expect(clientAddress("10.0.0.2", "198.51.100.7", 3)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.2", null, 1)).toBe("10.0.0.2");
    expect(clientAddress("10.0.0.2", " , ,", 1)).toBe("10.0.0.2");
  });

  it("keys IPv4-mapped IPv6 as IPv4, drops ports, and puts an IPv6 /64 in one bucket", () => {
    expect(addressKey("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(addressKey("198.51.100.7:4711")).toBe("198.51.100.7");
    expect(addressKey("[2001:db8::1]:443")).toBe("2001:db8:0:0::/64");
    expect(addressKey("2001:db8:0:0:ffff::1")).toBe(addressKey("2001:0db8::abcd"));
    expect(addressKey("2001:db8:1:2::1")).not.toBe(addressKey("2001:db8:1:3::1"));
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("64:ff9b::192.0.2.33")).toBe("64:ff9b:0:0::/64");
    expect(addressKey("unknown")).toBe("unknown");
    expect(addressKey("x".repeat(1000))).toHaveLength(100);
  });
});

// The product's own clientIp (LIKEWISE_TRUST_PROXY unset here: no proxy trusted) and sign-up limiter over real sockets.
describe("clientIp over HTTP", () => {
  let server: Server;
  let port = 0;
  let peerHeader = "";
  const limits = createRateLimiters();

  const toHeaders = (h: IncomingHttpHeaders) => {
    const out = new Headers();
    for (const [k, v] of Object.entries(h)) for (const x of [v ?? []].flat()) out.append(k, x);
    return out;
  };

  beforeAll(async () => {
    peerHeader = recordPeerAddresses();
    server = createServer((req, res) => {
      const ip = clientIp(toHeaders(req.headers));
      res.end(JSON.stringify({ ip, ok: limits.signUp.take(`ip:${ip}`).ok }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const get = (headers: Record<string, string>, localAddress = "127.0.0.1") =>
    new Promise<{ ip: string; ok: boolean }>((resolve, reject) => {
      request({ host: "127.0.0.1", port, localAddress, headers, agent: false }, (res) => {
        let t = "";
        res.on("data", (d: Buffer) => (t += d.toString()));
        res.on("end", () => resolve(JSON.parse(t) as { ip: string; ok: boolean }));
      })
        .on("error", reject)
        .end();
    });

  it("recording is idempotent (one private header per process)", () => {
    expect(recordPeerAddresses()).toBe(peerHeader);
    expect(peerHeader).toMatch(/^x-likewise-peer-[0-9a-f]{24}$/);
  });

  it("forged X-Forwarded-For, X-Real-IP or private header neither split nor reset the per-IP bucket", async () => {
    const replies = [];
    for (let i = 0; i < 14; i++)
      replies.push(
        await get({
          "x-forwarded-for": `203.0.113.${i}, 10.0.0.${i}`,
          "x-real-ip": `198.51.100.${i}`,
          [peerHeader]: `192.0.2.${i}`, // even if the random name leaked
        }),
      );
    expect(new Set(replies.map((r) => r.ip))).toEqual(new Set(["127.0.0.1"]));
    expect(replies.map((r) => r.ok)).toEqual([
      ...Array<boolean>(10).fill(true),
      ...Array<boolean>(4).fill(false),
    ]);
    // Another socket address has its own bucket.
    expect(await get({ "x-forwarded-for": "127.0.0.1" }, "127.0.0.2")).toEqual({ ip: "127.0.0.2", ok: true });
  });
});
