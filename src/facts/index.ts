export * from './types.js';
export { buildFactScript, shellQuote, sysctlPath, FACT_FORMAT_VERSION, FACT_MARKER, FACT_PROGRAMS, FILE_CONTENT_LIMIT } from './factScript.js';
export * from './parse.js';
export { nftBootFileOf, nftBootUnitOf, nftBootTextCommand, nftTableKey, NFT_BOOT_FOLDER, type NftTableName } from './nftBoot.js';
