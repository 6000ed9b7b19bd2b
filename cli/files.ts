// Files the CLI reads on a user's word (OSV records, alerts): bounded, and refused with one line.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { printable } from '../core/spec';

/** A file the command cannot take: its message is one printable line naming the file. */
export class FileInputError extends Error {}

/**
 * Reads a regular file of at most `limit` bytes, checked before reading: a FIFO, a device or a huge
 * file is refused instead of blocking or filling memory. O_NONBLOCK keeps the open of a FIFO from
 * waiting for a writer; it changes nothing for a regular file.
 */
export function readBoundedFile(file: string, limit: number): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileInputError(`${printable(file)}: ${code === 'ENOENT' ? 'no such file' : printable((err as Error).message)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FileInputError(`${printable(file)}: not a regular file`);
    if (stat.size > limit) throw new FileInputError(`${printable(file)}: larger than ${limit} bytes`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
