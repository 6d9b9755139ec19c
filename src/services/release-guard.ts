// The IPAM's guard on releases. Docker releases an address after DeleteEndpoint, so a release of
// an address an endpoint still holds is a stale retry (its first attempt was answered before a
// crash, and the address went to someone else since): it must not free that someone's address.
import type { DriverState } from '../driver/state.js';
import type { IpAddress } from '../net/ip.js';

export const releaseGuard =
  (state: DriverState) =>
  (address: IpAddress): string | undefined => {
    const endpoint = state.endpointWith(address);
    return endpoint && `endpoint ${endpoint.id.slice(0, 12)}`;
  };
