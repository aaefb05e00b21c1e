/**
 * The owner of watching media sessions without an account: the client's address as per-address
 * limits count it (an IPv6 /64 as one). WHEP players and anonymous sockets of one address are
 * one owner, so they share one `ANONYMOUS_WHEP_PER_IP` (issue 16). Users own theirs by user id.
 */
export const addressSessionOwner = (address: string): string => `address:${address}`;
