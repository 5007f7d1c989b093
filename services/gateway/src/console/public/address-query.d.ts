export type AddressQuery = { kind: "ip"; ip: string } | { kind: "cidr"; cidr: string };
export function isIpv4(text: string): boolean;
export function isIpv6(text: string): boolean;
export function parseAddressQuery(input: string): AddressQuery | { kind: "invalid"; message: string };
export function lookupQueryString(query: AddressQuery): string;
