// Network values: every address, prefix, port, endpoint, interface name and key wgplay
// takes is parsed, validated and written canonically here, and nowhere else.
export * from './address.js';
export * from './endpoint.js';
export * from './interfaceName.js';
export * from './nftElement.js';
export * from './wireguardKey.js';
export * from './values.js';
export * from './resolve.js';
