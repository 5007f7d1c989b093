import { describe, expect, it } from "vitest";
import { mergeCidrs, parseCidr, parseIp, sortedUniqueIps } from "./ip-address.ts";

describe("parseIp", () => {
  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["fd00:10:0:0::a", "fd00:10::a"],
    ["::", "::"],
    ["::ffff:10.1.2.3", "::ffff:a01:203"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
  ])("canonicalises %s as %s (RFC 5952)", (input, canonical) => {
    expect(parseIp(input)?.text).toBe(canonical);
  });

  it.each(["300.1.1.1", "010.1.1.1", "10.0.0", "fe80::1%eth0", "", "host.example", "1.2.3.4 "])(
    "rejects %j",
    (input) => {
      expect(parseIp(input)).toBeNull();
    },
  );

  it("sorts IPv4 before IPv6, numerically, without duplicates", () => {
    const ips = ["10.0.0.10", "fd00::1", "10.0.0.9", "2001:db8::1", "10.0.0.10", "FD00::1"].map((t) =>
      parseIp(t),
    );
    expect(sortedUniqueIps(ips.filter((ip) => ip !== null))).toEqual([
      "10.0.0.9",
      "10.0.0.10",
      "2001:db8::1",
      "fd00::1",
    ]);
  });
});

describe("parseCidr", () => {
  it("clears host bits as Go's net.ParseCIDR does", () => {
    expect(parseCidr("10.244.1.5/16")?.text).toBe("10.244.0.0/16");
    expect(parseCidr("FD00:10:244::1/56")?.text).toBe("fd00:10:244::/56");
  });

  it.each(["10.0.0.0/33", "10.0.0.0", "10.0.0.0/", "10.0.0.0/-1", "fd00::/129", "x/8"])(
    "rejects %j",
    (input) => {
      expect(parseCidr(input)).toBeNull();
    },
  );
});

describe("mergeCidrs", () => {
  const merge = (texts: string[]) => mergeCidrs(texts.map((t) => parseCidr(t)).filter((c) => c !== null));

  it("joins adjacent and nested ranges without adding addresses", () => {
    expect(merge(["10.244.1.0/24", "10.244.0.0/24", "10.244.2.0/24", "10.244.0.128/25"])).toEqual([
      "10.244.0.0/23",
      "10.244.2.0/24",
    ]);
  });

  it("keeps families apart and IPv4 first", () => {
    expect(merge(["fd00:10:244:1::/64", "10.0.0.0/24", "fd00:10:244::/64"])).toEqual([
      "10.0.0.0/24",
      "fd00:10:244::/63",
    ]);
  });

  it("handles the whole address space", () => {
    expect(merge(["0.0.0.0/1", "128.0.0.0/1"])).toEqual(["0.0.0.0/0"]);
  });
});
