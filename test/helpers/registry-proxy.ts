// A loopback proxy in front of the real registry that counts the writes reaching it and can hold
// back a response after the registry has acted on the request: the "write applied, answer lost"
// failure that a worker killed mid-request leaves behind.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  body: string;
  /** Set when the proxy answered it (failNext) without passing it on. */
  refused?: number;
}

export interface RegistryProxy {
  url: string;
  seen: SeenRequest[];
  writes(): SeenRequest[];
  /** The next matching request goes through to the registry; its answer is withheld. Resolves once the registry has answered. */
  holdNext(match: (req: SeenRequest) => boolean): Promise<SeenRequest>;
  /** Sends the withheld answers after all: a slow answer rather than a lost one. */
  releaseHeld(): void;
  /** The next matching request is answered `status` by the proxy and never reaches the registry (a registry hiccup). */
  failNext(match: (req: SeenRequest) => boolean, status: number): void;
  close(): Promise<void>;
}

/** keepHost: forward the Host the client sent, so that URLs the registry writes into documents name the proxy. */
export async function startRegistryProxy(upstream: string, options: { keepHost?: boolean } = {}): Promise<RegistryProxy> {
  const target = new URL(upstream);
  const seen: SeenRequest[] = [];
  let hold: { match: (req: SeenRequest) => boolean; reached: (req: SeenRequest) => void } | undefined;
  const withheld: { res: ServerResponse; send(): void }[] = [];
  let failing: { match: (req: SeenRequest) => boolean; status: number } | undefined;

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry: SeenRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString() };
      seen.push(entry);
      if (failing && failing.match(entry)) {
        const { status } = failing;
        failing = undefined;
        entry.refused = status;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `refused with ${status} by the test proxy` }));
        return;
      }
      const holding = hold && hold.match(entry) ? hold : undefined;
      if (holding) hold = undefined;
      const headers = options.keepHost ? { ...req.headers } : { ...req.headers, host: target.host };
      const forward = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (upstreamRes) => {
          const answer: Buffer[] = [];
          upstreamRes.on('data', (chunk: Buffer) => answer.push(chunk));
          upstreamRes.on('end', () => {
            const send = () => {
              res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
              res.end(Buffer.concat(answer));
            };
            if (holding) {
              withheld.push({ res, send });
              holding.reached(entry);
              return;
            }
            send();
          });
        },
      );
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    seen,
    writes: () => seen.filter((r) => r.method !== 'GET' && r.method !== 'HEAD'),
    holdNext(match) {
      return new Promise((reached) => {
        hold = { match, reached };
      });
    },
    releaseHeld() {
      for (const held of withheld.splice(0)) held.send();
    },
    failNext(match, status) {
      failing = { match, status };
    },
    close() {
      for (const { res } of withheld) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
