// A package tarball as `npm pack` makes it (a gzipped ustar archive of package/…) and the document
// `npm publish` PUTs with it, so a bench can publish hundreds of versions over HTTP without one npm
// process per version.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header block: the fields npm's tar reader needs, checksum computed over the block. */
function header(path: string, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(path, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(mtime, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write('0', 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

function tar(files: Record<string, string>): Buffer {
  const mtime = Math.floor(Date.UTC(1985, 9, 26, 8, 15) / 1000);
  const parts: Buffer[] = [];
  for (const [path, text] of Object.entries(files)) {
    const body = Buffer.from(text, 'utf8');
    parts.push(header(path, body.length, mtime), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export interface Tarball {
  manifest: Record<string, unknown>;
  data: Buffer;
}

export function packageTarball(name: string, version: string): Tarball {
  const manifest = { name, version, description: 'quarantine bench fixture', main: 'index.js', license: 'MIT' };
  const data = gzipSync(tar({
    'package/package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'package/index.js': `module.exports = ${JSON.stringify(`${name}@${version}`)};\n`,
  }));
  return { manifest, data };
}

/** The body of `PUT /<name>` that `npm publish` sends for one version, with `latest` on it. */
export function publishDocument(registry: string, name: string, version: string, tarball: Tarball): Record<string, unknown> {
  const file = `${name.split('/').pop()!}-${version}.tgz`;
  const dist = {
    integrity: `sha512-${createHash('sha512').update(tarball.data).digest('base64')}`,
    shasum: createHash('sha1').update(tarball.data).digest('hex'),
    tarball: new URL(`${name}/-/${file}`, registry).toString(),
  };
  return {
    _id: name,
    name,
    description: tarball.manifest.description,
    'dist-tags': { latest: version },
    versions: { [version]: { ...tarball.manifest, _id: `${name}@${version}`, dist } },
    access: null,
    _attachments: { [`${name}-${version}.tgz`]: { content_type: 'application/octet-stream', data: tarball.data.toString('base64'), length: tarball.data.length } },
  };
}

/**
 * Publishes one version as `npm publish` would: one PUT of its document, its tarball attached. Latest
 * moves to it. A refusal throws, with the registry's status and answer.
 */
export async function publishVersion(registry: string, token: string, name: string, version: string): Promise<void> {
  const response = await fetch(new URL(`/${name.replace('/', '%2f')}`, registry), {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(publishDocument(registry, name, version, packageTarball(name, version))),
  });
  if (!response.ok) throw new Error(`publishing ${name}@${version}: ${response.status} ${(await response.text()).slice(0, 300)}`);
}
