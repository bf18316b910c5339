// A tiny HTTP server for lab hosts: answers every request with one line naming itself
// and the address it sees the client as, e.g. "hello from host-a; you are 10.0.0.2".
// That remote address is what the overlapping-networks NAT is all about.
//
//   node dist/src/lab/whoamiServer.js --port 80 --text "hello from host-a" [--address 0.0.0.0]
//
// Built-ins only; the lab runs it inside a host with nsenter (see seedLab.ts).

import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface WhoamiOptions {
  port: number;
  /** Text before "; you are ADDRESS". */
  text: string;
  /** Default 0.0.0.0 (IPv4 only, so remote addresses print without "::ffff:"). */
  address?: string;
}

export function whoamiLine(text: string, remoteAddress: string | undefined): string {
  const remote = (remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
  return `${text}; you are ${remote}\n`;
}

export function startWhoamiServer(opts: WhoamiOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const body = whoamiLine(opts.text, req.socket.remoteAddress);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address ?? '0.0.0.0', () => resolve(server));
  });
}

export function parseWhoamiArgs(argv: string[]): WhoamiOptions {
  let port: number | undefined;
  let text: string | undefined;
  let address: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`whoamiServer: unexpected argument ${a}`);
    if (a === '--port') port = Number(v);
    else if (a === '--text') text = v;
    else if (a === '--address') address = v;
    else throw new Error(`whoamiServer: unexpected argument ${a}`);
    i++;
  }
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error('whoamiServer: --port N required');
  if (text === undefined) throw new Error('whoamiServer: --text TEXT required');
  return { port, text, address };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const opts = parseWhoamiArgs(process.argv.slice(2));
  startWhoamiServer(opts).then(
    () => console.log(`whoami listening on ${opts.address ?? '0.0.0.0'}:${opts.port}`),
    (e: Error) => {
      console.error(`whoamiServer: ${e.message}`);
      process.exit(1);
    },
  );
  process.on('SIGTERM', () => process.exit(0));
}
