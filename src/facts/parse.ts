// Entry point of the fact parsers: parseFacts (the whole fact output) and one parser per source.
export { parseFacts } from './parseFacts.js';
export { splitFactSections } from './sections.js';
export { parseIpAddresses, parseIpLinks, parseIpRoutes, parseIpRules } from './parseIp.js';
export { parseNftRuleset, parseNftText, normalizeNftWhitespace } from './parseNft.js';
export { parseWgDump } from './parseWg.js';
export { parseFileSection, parseNftBootSection, parsePrograms, parseSysctlSection } from './parseFiles.js';
